"""Report writers: terminal, Markdown, JUnit, HTML, plots, filmstrip, trace archive (formatting only)."""

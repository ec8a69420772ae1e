"""Browser: finding, launching and connecting to Chromium; the renderer process behind a page."""

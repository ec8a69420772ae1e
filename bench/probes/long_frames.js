  // --- a Long Animation Frame entry as a plain record (shared: probe_script includes it) ---
  function scriptAttribution(script) {
    return {
      invoker: script.invoker,
      invokerType: script.invokerType,
      sourceURL: script.sourceURL,
      sourceFunctionName: script.sourceFunctionName,
      sourceCharPosition: script.sourceCharPosition,
      startTime: script.startTime,
      executionStart: script.executionStart,
      duration: script.duration,
      forcedStyleAndLayoutDuration: script.forcedStyleAndLayoutDuration,
      pauseDuration: script.pauseDuration,
      windowAttribution: script.windowAttribution,
    };
  }

  function longFrameRecord(entry) {
    return {
      startTime: entry.startTime,
      duration: entry.duration,
      blockingDuration: entry.blockingDuration,
      renderStart: entry.renderStart,
      styleAndLayoutStart: entry.styleAndLayoutStart,
      firstUIEventTimestamp: entry.firstUIEventTimestamp,
      scripts: (entry.scripts || []).map(scriptAttribution),
    };
  }

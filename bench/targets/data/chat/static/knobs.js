// Knob parsing for the bundled pages (app.js, assistant.js): behaviour is
// tuned through URL query parameters, and a bad value must be impossible to
// miss (a run with the wrong settings would measure the defaults and look
// fine), so each problem is logged and shown in the page's banner.
"use strict";

window.chatKnobs = (() => {
  function oneOf(...choices) {
    return (raw) => {
      if (choices.includes(raw)) return raw;
      throw new Error(`expected one of ${choices.join(", ")}`);
    };
  }

  function nonNegativeNumber(raw) {
    // Number("") is 0 and Number(" 5 ") is 5; only accept what a person
    // would read as a number.
    const value = Number(raw);
    if (raw.trim() !== raw || raw === "" || !Number.isFinite(value) || value < 0) {
      throw new Error("expected a non-negative number");
    }
    return value;
  }

  function flag(raw) {
    if (raw === "1") return true;
    if (raw === "0") return false;
    throw new Error("expected 0 or 1");
  }

  function nonEmptyString(raw) {
    if (raw.trim() === "") throw new Error("expected a non-empty string");
    return raw.trim();
  }

  // spec: name -> { default, parse }; parse(raw string) returns the value or
  // throws an Error whose message says what was expected. Unknown parameters
  // are ignored: the page may be loaded with parameters meant for something
  // else (the other script's knobs). A default of undefined leaves a knob
  // that is not given out of the result.
  function parse(spec, search = location.search) {
    const params = new URLSearchParams(search);
    const knobs = {};
    const problems = [];
    for (const [name, { default: fallback, parse: parseOne }] of Object.entries(spec)) {
      const raw = params.get(name);
      if (fallback !== undefined) knobs[name] = fallback;
      if (raw === null) continue;
      try {
        knobs[name] = parseOne(raw);
      } catch (err) {
        problems.push(
          `Invalid value for knob "${name}": ${JSON.stringify(raw)} (${err.message}); ` +
            `using the default ${JSON.stringify(fallback ?? null)}.`,
        );
      }
    }
    showProblems(problems);
    return Object.freeze(knobs);
  }

  // Appended to what the banner already says: both scripts of a page report.
  function showProblems(lines) {
    if (lines.length === 0) return;
    for (const line of lines) console.error(`bench chat: ${line}`);
    const banner = document.getElementById("banner");
    if (!banner) return;
    banner.textContent = [banner.textContent, ...lines].filter(Boolean).join("\n");
    banner.hidden = false;
  }

  return { parse, showProblems, oneOf, nonNegativeNumber, flag, nonEmptyString };
})();

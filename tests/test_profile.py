"""Target profiles: parsing, every kind of bad input, and profile check / init on a real page."""

from __future__ import annotations

import textwrap

import pytest

from bench.errors import UsageError
from bench.targets.profile import BUNDLED_PROFILE, load_profile, resolve_target
from tests.conftest import bench_in_process, run_bench

GOOD = """
name = "my chat"
url = "http://127.0.0.1:8000/"
[websocket]
match = "**/ws*"
inject = "intercept"
frame = '{"type":"response","content":"{text}"}'
[server]
send_url = "/api/messages"
send_body = '{"text":"{text}"}'
[dom]
list = "#chatMessages"
message = ".message"
[page]
ready = "#chatMessages"
setup = [{click = "#login"}, {fill = ["#name", "bench"]}]
"""

# The bundled app with frames it ignores: its socket receives them, its DOM shows none.
IGNORED_FRAMES = """
[websocket]
match = "**/ws"
frame = '{"kind":"msg","body":"{text}"}'
[dom]
list = "#messages"
message = ".message"
"""


def write(tmp_path, text: str):
    path = tmp_path / "p.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_full_profile_becomes_a_target(tmp_path):
    target = resolve_target(str(write(tmp_path, GOOD)), None, "work_ms=5")
    assert target.name == "my chat"
    assert target.url == "http://127.0.0.1:8000/?work_ms=5"
    assert target.send_url == "http://127.0.0.1:8000/api/messages"  # relative to the page
    assert (target.list_selector, target.message_selector, target.ready_selector) == (
        "#chatMessages", ".message", "#chatMessages")
    assert target.frame_format == "json"
    assert target.setup == [{"click": "#login"}, {"fill": ["#name", "bench"]}]


def test_the_bundled_profile_has_no_url_until_started():
    target = resolve_target(None, None)
    assert target.bundled and target.url == ""
    assert load_profile(BUNDLED_PROFILE).list_selector == "#messages"


@pytest.mark.parametrize("text, expected", [
    ("name = 'x'\n[websocket]\nmatch = '**/ws'\nfram = '{text}'\n",
     "unknown key 'websocket.fram' (did you mean 'frame'?)"),
    ("nmae = 'x'\n", "unknown key 'nmae' (did you mean 'name'?)"),
    ("[dom]\nlist = 3\n", "'dom.list' must be a str"),
    ("[websocket]\nframe = '{\"content\": {text}}'\n", "websocket.frame is not valid JSON after substitution"),
    ("[websocket]\nframe = '{\"content\": \"hi\"}'\n", "has no {text} placeholder"),
    ("[websocket]\ninject = 'magic'\n", "websocket.inject 'magic'"),
    ("[websocket]\ninject = 'server'\n", "needs server.send_url"),
    ("[page]\nsetup = [{clik = '#a'}]\n", "unknown action 'clik' (did you mean 'click'?)"),
    ("[page]\nsetup = [{fill = ['#a']}]\n", "fill takes [selector, text]"),
])
def test_bad_profiles_say_what_and_where(tmp_path, text, expected):
    with pytest.raises(UsageError) as err:
        load_profile(write(tmp_path, text))
    assert expected in err.value.message
    assert "\n" not in err.value.message


def test_malformed_toml_names_the_line_and_its_key(tmp_path):
    path = write(tmp_path, "name = 'x'\n[dom]\nlist '#log'\n")
    with pytest.raises(UsageError) as err:
        load_profile(path)
    assert "line 3" in err.value.message and "list '#log'" in err.value.message


def test_plain_text_frames_are_not_json_checked(tmp_path):
    target = load_profile(write(tmp_path, "[websocket]\nframe = 'bench says: {text}'\n"))
    assert target.frame_format == "text"


def test_cli_bad_profile_is_one_line_exit_2(tmp_path):
    path = write(tmp_path, "[websocket]\nmatch = '**/ws'\nmathc = 'x'\n")
    proc = bench_in_process("ui", "--profile", str(path), "--url", "http://127.0.0.1:9/")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "did you mean 'match'" in proc.stderr


def test_cli_profile_without_url_is_a_usage_error(tmp_path):
    proc = bench_in_process("ui", "--profile", str(write(tmp_path, "name = 'x'\n")))
    assert proc.returncode == 2 and "has no url; pass --url" in proc.stderr


@pytest.mark.parametrize("change, extra, expected", [
    (('message = ".message"', 'message = "li[[bad"'), (),
     "bench: error: dom.message 'li[[bad' is not a CSS selector, as it must be (the probes use it inside the page)"),
    # A Playwright selector where the probes need CSS (`bench profile check` said it matched, then failed).
    (('list = "#messages"', 'list = "#messages >> nth=0"'), (),
     "bench: error: dom.list '#messages >> nth=0' is not a CSS selector"),
    (('ready = "#messages"', "ready = 'body[[x'"), (), "bench: error: page.ready 'body[[x' is not a valid selector: "),
    ((), ("--scenario", "scroll", "--scroll-list", "div[["), "bench: error: --scroll-list 'div[[' is not a CSS selector"),
])
def test_a_selector_that_cannot_parse_is_one_line_exit_2_before_measuring(chat_server, tmp_path, change, extra,
                                                                          expected):
    """Said as the page opens, by its key: before, a traceback from inside a measurement (exit 1, the
    bursts' results lost) or, for page.ready, "matched nothing" after the whole --timeout."""
    text = BUNDLED_PROFILE.read_text()
    if change:
        assert change[0] in text
        text = text.replace(change[0], change[1])
    path = write(tmp_path, text)
    proc = run_bench("ui", "--profile", str(path), "--url", chat_server.url, "--timeout", "60", "--no-progress",
                     "--json", str(tmp_path / "r.json"), *extra)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith(expected), proc.stderr


@pytest.mark.parametrize("html, ok, said", [
    ('<div id="list" style="height:400px;overflow-y:auto"><p>one</p></div>', True,
     "is a scroll container (overflow-y: auto) that these few messages do not fill yet"),
    ('<div id="list" style="height:100px;overflow-y:auto"><p style="height:900px">x</p></div>', True, "scrolls ("),
    ('<div id="outer" style="height:300px;overflow-y:auto"><div id="list"><p style="height:2000px">x</p></div></div>',
     False, "cannot scroll: its content never grew past its height, while div#outer overflows"),
    ('<div id="list" style="height:100px"><p>x</p></div>', False, "it is no scroll container (overflow-y: visible)"),
])
def test_profile_check_tells_a_list_not_full_yet_from_one_that_does_not_scroll(page, html, ok, said):
    """A list that is a scroll container passes though the check's few messages do not fill it (it failed,
    saying another element scrolls, on a page whose messages are short); one inside an overflowing
    scroller fails and names it."""
    from bench.probes import probe_script
    from bench.run.profile_check import list_scroll_check

    page.set_content(f"<body style='margin:0'>{html}</body>")
    check = list_scroll_check("#list", page.locator("#list").evaluate(probe_script("list_scrolls.js")))
    assert check.ok is ok and said in check.what, check.what


def test_profile_check_passes_on_the_bundled_app(chat_server):
    proc = run_bench("profile", "check", str(BUNDLED_PROFILE), "--url", chat_server.url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all checks passed" in proc.stdout
    assert "painted" in proc.stdout and "div.message > div.text" in proc.stdout


def test_profile_check_on_a_page_that_stops_answering_is_one_line_exit_3(chat_server):
    # hang_after=0: the page's handler never returns from the first injected message (bench/browser/watchdog.py;
    # bench ui's case with partial results: tests/test_cli.py).
    proc = run_bench("profile", "check", str(BUNDLED_PROFILE), "--url", chat_server.url + "?hang_after=0",
                     "--timeout", "3", timeout=60)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "bench: error: the page stopped answering: its main thread has not been free for 3 s (--timeout), "
        "an endless loop or one very long task"]


def test_profile_check_names_each_problem(chat_server, tmp_path):
    # The socket matches and the message arrives, but the selectors are wrong.
    path = write(tmp_path, """
        [websocket]
        match = "**/ws"
        frame = '{"type":"message","id":"{id}","user":"{user}","text":"{text}","ts":{ts}}'
        [dom]
        list = "#nope"
        message = ".bubble"
        [page]
        ready = "body"
        """)
    proc = run_bench("profile", "check", str(path), "--url", chat_server.url)
    assert proc.returncode == 3
    assert "FAIL  dom.list '#nope' matches 0 element(s)" in proc.stdout
    assert "FAIL  its text is NOT under dom.message '.bubble'" in proc.stdout


def test_a_page_that_renders_none_of_two_bursts_ends_the_run(chat_server, tmp_path):
    """Frames the app ignores: its socket receives every message, its DOM shows none. One line, exit 3,
    after two bursts' waits (the warm-up and the first measured one, --timeout 3), not after the wait of
    every burst (eleven of them: 5.5 minutes at the default --timeout). The scroll scenario alone says, in
    its "cannot scroll" line, that none of its preloaded messages were seen in the DOM."""
    import time

    path = write(tmp_path, IGNORED_FRAMES)
    started = time.monotonic()
    proc = run_bench("ui", "--profile", str(path), "--url", chat_server.url, "--scenario", "burst", "--timeout", "3",
                     "--no-progress", timeout=120)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "bench: error: none of the messages the page's WebSocket received in two bursts in a row reached its DOM "
        "within 3 s each: the page does not render them, or not as text bench can see (a canvas, a closed shadow "
        "root, an iframe); is websocket.frame what the app expects?"], proc.stderr
    assert time.monotonic() - started < 60
    proc = run_bench("ui", "--profile", str(path), "--url", chat_server.url, "--scenario", "scroll", "--timeout", "3",
                     "--scroll-messages", "50", "--no-progress", timeout=120)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "cannot scroll" in proc.stderr and "with 50 message(s), 0 of them seen in the page's DOM" in proc.stderr, \
        proc.stderr


def test_profile_check_wrong_frame_format_never_reaches_the_dom(chat_server, tmp_path):
    path = write(tmp_path, IGNORED_FRAMES)
    proc = run_bench("profile", "check", str(path), "--url", chat_server.url, "--timeout", "2")
    assert proc.returncode == 3
    assert "never appeared in the DOM" in proc.stdout


def test_no_matching_socket_is_named(chat_server, tmp_path):
    path = write(tmp_path, "[websocket]\nmatch = '**/other-socket'\n[dom]\nlist = '#messages'\n")
    proc = run_bench("ui", "--profile", str(path), "--url", chat_server.url, "--timeout", "5")
    assert proc.returncode == 3
    assert "no page WebSocket matched '**/other-socket'" in proc.stderr and "/ws" in proc.stderr


def test_profile_init_proposes_a_profile_that_checks(chat_server, tmp_path):
    out = tmp_path / "proposed.toml"
    proc = run_bench("profile", "init", "--url", chat_server.url, "--watch", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    target = load_profile(out)  # valid as written
    assert target.ws_match == "**/ws" and target.list_selector == "#messages"


def test_a_page_that_opens_no_websocket_is_named(chat_server, tmp_path):
    path = write(tmp_path, "[websocket]\nmatch = '**/ws'\n[page]\nready = 'body'\n")
    proc = run_bench("ui", "--profile", str(path), "--url", chat_server.url + "health", "--timeout", "2")
    assert proc.returncode == 3
    assert proc.stderr.strip() == (f"bench: error: {chat_server.url}health: the page opened no WebSocket "
                                   "within 2 s")

// fuite scenario: one iteration = the chat server drops the page's WebSocket
// (alternately a clean close and a cut connection, the bundled app's
// POST /api/disconnect), then the app reconnects by itself.
let n = 0;

export async function iteration(page) {
  const before = await page.evaluate(() => window.chatApp.reconnects);
  const mode = n++ % 2 ? "abort" : "close";
  await page.evaluate((mode) => fetch("/api/disconnect", { method: "POST", body: JSON.stringify({ mode }) }), mode);
  await page.waitForFunction((b) => window.chatApp.reconnects > b && window.chatApp.socket.readyState === 1,
    { timeout: 10000 }, before);
}

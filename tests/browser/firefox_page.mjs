// Firefox for the browser tests: Debian's firefox-esr driven over WebDriver BiDi by puppeteer-core
// (from web/node_modules; it downloads no browser). The Python tests (tests/browser/firefox.py) run
// this script and talk to it in JSON lines:
//
//   argv[2]  {"executable", "prefs": {...}}    Firefox and its preferences (on top of BASE_PREFS)
//   stdout   {"ready": true, "version": "..."} once Firefox is up
//   stdin    {"id", "op", ...}                 one command a line; commands may overlap
//   stdout   {"id", "ok": true, "value"} or {"id", "ok": false, "error"}
//
// Commands: new_page -> page number; init_script {page, source} (runs before each document's
// own scripts, like Playwright's add_init_script); goto {page, url}; click {page, selector};
// evaluate {page, expression, arg} (a function expression is called with arg, as in Playwright;
// promises are awaited); errors {page} -> the page's uncaught errors; quit.
// Firefox is closed when stdin ends, so a test that dies leaves no browser behind.

import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { default: puppeteer } = await import(pathToFileURL(require.resolve("puppeteer-core")).href);

const options = JSON.parse(process.argv[2] || "{}");
const FIREFOX = options.executable || "/usr/bin/firefox-esr";
// Fake camera and microphone (whether the page may use them is up to the prefs the test passes),
// and Polish first, as the Chromium pages of the tests ask.
const BASE_PREFS = {
  "media.navigator.streams.fake": true,
  "intl.accept_languages": "pl-PL, pl",
};

const browser = await puppeteer.launch({
  browser: "firefox",
  protocol: "webDriverBiDi",
  executablePath: FIREFOX,
  headless: true,
  extraPrefsFirefox: { ...BASE_PREFS, ...(options.prefs || {}) },
});

const pages = [];
const errors = [];

function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function pageOf(command) {
  const page = pages[command.page];
  if (!page) throw new Error(`no page ${command.page}`);
  return page;
}

// Playwright's rule: a function expression is called with the argument, anything else is evaluated.
const FUNCTION_RE = /^\s*(async\s+)?(function\b|\([^)]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)/;

async function run(command) {
  switch (command.op) {
    case "new_page": {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      const index = pages.push(page) - 1;
      errors[index] = [];
      page.on("pageerror", (err) => errors[index].push(String(err?.message ?? err)));
      await page.setViewport({ width: 1000, height: 700 });
      return index;
    }
    case "init_script":
      await pageOf(command).evaluateOnNewDocument(String(command.source));
      return null;
    case "goto":
      await pageOf(command).goto(command.url, { waitUntil: "load" });
      return null;
    case "click":
      await pageOf(command).locator(command.selector).click();
      return null;
    case "evaluate": {
      const expression = String(command.expression);
      const source = FUNCTION_RE.test(expression)
        ? `(${expression})(${JSON.stringify(command.arg ?? null)})`
        : expression;
      const value = await pageOf(command).evaluate(source);
      return value === undefined ? null : value;
    }
    case "errors":
      return errors[command.page] || [];
    case "quit":
      return null;
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

let closing = null;
function shutdown() {
  closing ??= browser.close().catch(() => {}).finally(() => process.exit(0));
  return closing;
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  if (!line.trim()) return;
  let command;
  try {
    command = JSON.parse(line);
  } catch (err) {
    send({ id: null, ok: false, error: `bad JSON: ${err.message}` });
    return;
  }
  try {
    const value = await run(command);
    send({ id: command.id, ok: true, value });
    if (command.op === "quit") shutdown();
  } catch (err) {
    send({ id: command.id, ok: false, error: String(err?.stack || err) });
  }
});
lines.on("close", shutdown);

send({ ready: true, version: await browser.version() });

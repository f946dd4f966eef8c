// Real-browser test of Sextant's web app: Chromium (driven by
// playwright-core, no browser download) walks the pages a patient would use,
// keyboard first, and runs axe-core on every page it visits.
//
//   SEXTANT_URL=http://127.0.0.1:8080 node app.test.mjs
//
// Environment:
//   SEXTANT_URL     the running server (`sextant serve --insecure-cookies`)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//   RECORD_FILE     a FHIR record to upload (default: the mCODE test patient
//                   in ../shared/data; the record steps fail without it)
//   HEADED=1        show the browser
//   SEXTANT_BIN     the binary, to approve the shared answer as a reviewer
//                   (`sextant library review --approve-all`, with
//                   SEXTANT_KEY_FILE and SEXTANT_DATABASE_URL of the server)
//
// Exit code 0 when every step passed and no page has a serious or critical
// axe-core violation; 1 otherwise. Moderate and minor violations are listed.

import { chromium } from "playwright-core";
import { createRequire } from "node:module";
import { readFileSync, existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.SEXTANT_URL || "http://127.0.0.1:8080").replace(/\/$/, "");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const RECORD_FILE =
  process.env.RECORD_FILE ||
  path.resolve(here, "../../../shared/data/records/mcode/ctm-app/src/utils/r4_test_patients/TrialMatching_Patient01.json");
const SEED = "Is surgery an option for metastatic liver cancer?";
const EMERGENCY = "I have a fever of 102 after chemo yesterday";
const URGENT = "I am on capecitabine and have had diarrhea 5 times today, what can I eat?";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

// ---------------------------------------------------------------- harness

const failures = [];
const axeReport = []; // { page, serious: [...], other: [...] }
let stepName = "";

function check(cond, message) {
  if (!cond) {
    failures.push(`${stepName}: ${message}`);
    console.log(`    FAIL ${message}`);
  }
  return !!cond;
}

async function step(name, fn) {
  stepName = name;
  const t0 = Date.now();
  const before = failures.length;
  try {
    await fn();
  } catch (e) {
    failures.push(`${name}: ${e && e.stack ? e.stack.split("\n").slice(0, 3).join(" | ") : e}`);
    console.log(`    ERROR ${e && e.message ? e.message.split("\n")[0] : e}`);
  }
  const ok = failures.length === before;
  console.log(`${ok ? "ok  " : "FAIL"} ${name} (${Date.now() - t0} ms)`);
}

/** Runs axe-core on the page as it is now. Serious and critical violations
 * fail the run; moderate and minor ones are listed. */
async function axe(page, label) {
  // axe is evaluated through the DevTools protocol, which the page's CSP
  // (`script-src 'self'`) does not govern, so the CSP stays enforced for the
  // app's own script. (page.addScriptTag({path}) would inline the file as a
  // <script> element, which that CSP blocks; bypassCSP on the context would
  // allow it but would also hide CSP breakage in the app.)
  const has = await page.evaluate(() => typeof window.axe === "object");
  if (!has) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
      resultTypes: ["violations"],
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + (n.failureSummary ? " — " + n.failureSummary.replace(/\s+/g, " ") : "")),
      count: v.nodes.length,
    }));
  });
  const serious = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  const other = result.filter((v) => !(v.impact === "serious" || v.impact === "critical"));
  axeReport.push({ page: label, serious, other });
  for (const v of serious) {
    check(false, `axe ${v.impact} ${v.id} on ${label}: ${v.help} (${v.count} node(s)): ${v.nodes.join("; ")}`);
  }
  for (const v of other) {
    console.log(`    axe ${v.impact} ${v.id} on ${label}: ${v.help} (${v.count}): ${v.nodes.join("; ")}`);
  }
  console.log(`    axe ${label}: ${serious.length} serious/critical, ${other.length} moderate/minor`);
}

async function text(locator) {
  return ((await locator.textContent()) || "").replace(/\s+/g, " ").trim();
}

/** Presses Tab until `pred(activeElementInfo)` holds (at most `max` times). */
async function tabUntil(page, pred, max = 80) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const info = await page.evaluate(() => {
      const a = document.activeElement;
      return a
        ? { tag: a.tagName.toLowerCase(), id: a.id, cls: a.className || "", text: (a.textContent || "").trim().slice(0, 80), type: a.getAttribute("type") || "" }
        : null;
    });
    if (info && pred(info)) return info;
  }
  return null;
}

// ---------------------------------------------------------------- the run

const started = Date.now();
const launchArgs = [];
if (typeof process.getuid === "function" && process.getuid() === 0) launchArgs.push("--no-sandbox");
if (!existsSync(CHROMIUM)) {
  console.error(`browser test: no browser at ${CHROMIUM} (set CHROMIUM)`);
  process.exit(2);
}
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: !process.env.HEADED, args: launchArgs });
const context = await browser.newContext({ baseURL: BASE, viewport: { width: 1100, height: 900 } });
context.setDefaultTimeout(20000);
const page = await context.newPage();
const consoleProblems = [];
page.on("console", (m) => {
  // HTTP error statuses are checked by the steps that cause them (404 page,
  // wrong password); script errors and CSP refusals are not expected at all.
  if (m.type() === "error" && !/^Failed to load resource/.test(m.text())) consoleProblems.push(`${page.url()}: ${m.text()}`);
});
page.on("pageerror", (e) => consoleProblems.push(`${page.url()}: ${e.message}`));
page.on("dialog", (d) => d.accept());

let libraryHref = null;

try {
  await step("ask page: labelled field, keyboard-only ask of the seed question", async () => {
    await page.goto("/");
    check((await page.title()).includes("Ask a question"), "title names the page");
    // Landmarks: one main, a labelled nav.
    check((await page.locator("main").count()) === 1, "one <main> landmark");
    check((await page.getByRole("navigation", { name: "Main" }).count()) === 1, "labelled main navigation");
    // The question field's accessible name comes from its <label>.
    const field = page.getByRole("textbox", { name: "Your question" });
    check((await field.count()) === 1, "the question field has the accessible name 'Your question'");
    await axe(page, "ask");
    // Keyboard only: the first Tab reaches the skip link, Enter follows it,
    // the next Tab lands in the question field.
    await page.keyboard.press("Tab");
    const first = await page.evaluate(() => document.activeElement && document.activeElement.className);
    check(first === "skip-link", `first Tab focuses the skip link (got ${first})`);
    check(await page.locator(".skip-link").isVisible(), "the focused skip link is visible");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Tab");
    const inField = await page.evaluate(() => document.activeElement && document.activeElement.id);
    check(inField === "question", `Tab after the skip link reaches the question field (got ${inField})`);
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    check(ring !== "none", `the focused field shows a focus outline (${ring})`);
    await page.keyboard.type(SEED);
    // Enter in the field asks (Shift+Enter would add a line).
    await Promise.all([page.waitForURL("**/ask"), page.keyboard.press("Enter")]);
  });

  await step("answer page: readings, questions, bottom line, notice, sources", async () => {
    check(page.url().endsWith("/ask"), `on the answer page (${page.url()})`);
    const asked = await text(page.locator(".asked"));
    check(asked.includes(SEED), "the question is repeated");
    const readings = page.locator("section.reading > h3");
    const n = await readings.count();
    check(n >= 2, `both readings have a heading (found ${n})`);
    const labels = [];
    for (let i = 0; i < n; i++) labels.push(await text(readings.nth(i)));
    check(labels.some((l) => /started in the liver/i.test(l)), `a reading for primary liver cancer (${labels.join(" | ")})`);
    check(labels.some((l) => /spread to the liver/i.test(l)), "a reading for cancer spread to the liver");
    check(await page.getByRole("heading", { name: "Questions to ask your care team" }).isVisible(), "'Questions to ask your care team' heading");
    check((await page.locator("section.questions li").count()) > 0, "questions listed");
    check(await page.getByRole("heading", { name: "The bottom line" }).isVisible(), "'The bottom line' heading");
    const notice = page.locator("p.notice");
    check((await notice.count()) >= 1 && (await notice.first().isVisible()), "the notice is shown");
    check(/not medical advice|education|care team/i.test(await text(notice.first())), "the notice says what it is");
    const sources = page.locator("section.sources li");
    const ns = await sources.count();
    check(ns > 0, "sources listed");
    const dates = await page.locator("section.sources .src-date").count();
    check(dates > 0 && dates === ns, `every source shows its review date (${dates}/${ns})`);
    if (dates > 0) check(/Last reviewed \S+/.test(await text(page.locator(".src-date").first())), "review date text");
    await axe(page, "answer");
  });

  await step("answer page: citation markers open the cited passage (click, keyboard), Escape closes", async () => {
    const pop = page.locator("#cite-pop");
    const mark = page.locator("a.cite").first();
    check((await page.locator("a.cite").count()) > 0, "citation markers present");
    const target = await mark.getAttribute("data-cite");
    const passage = await text(page.locator(`#${target} .src-passage`));
    await mark.click();
    check(await pop.isVisible(), "clicking a marker shows the popover");
    const popText = await text(pop);
    check(passage.length > 0 && popText.includes(passage.slice(0, 60)), "the popover holds the cited passage");
    check((await mark.getAttribute("aria-expanded")) === "true", "the marker says it is expanded");
    await axe(page, "answer with citation open");
    // The artifact a person can look at: the cited answer, a citation open.
    const shots = process.env.SCREENSHOT_DIR || new URL("./artifacts/", import.meta.url).pathname;
    await import("node:fs").then((fs) => fs.mkdirSync(shots, { recursive: true }));
    await page.screenshot({ path: `${shots}/answer-with-citation.png`, fullPage: true });
    await page.keyboard.press("Escape");
    check(await pop.isHidden(), "Escape closes the popover");
    check((await mark.getAttribute("aria-expanded")) === "false", "the marker says it is collapsed");
    const back = await page.evaluate(() => document.activeElement && document.activeElement.classList.contains("cite"));
    check(back, "focus returns to the marker");
    // Keyboard: Tab from the page start to the first marker opens it.
    await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
    await page.locator("main").focus();
    const got = await tabUntil(page, (i) => i.cls.includes("cite"));
    check(got !== null, "Tab reaches a citation marker");
    if (got) {
      check(await pop.isVisible(), "focusing a marker with the keyboard shows the popover");
      await page.keyboard.press("Escape");
      check(await pop.isHidden(), "Escape closes the keyboard-opened popover");
      // Moving on with Tab from the marker works and does not reopen it for
      // the marker just closed.
    }
  });

  await step("printable questions view (from the answer)", async () => {
    const button = page.getByRole("button", { name: /Questions for my next appointment/ });
    await Promise.all([page.waitForURL("**/questions"), button.click()]);
    check(await page.getByRole("heading", { level: 1, name: "Questions for my next appointment" }).isVisible(), "the printable view's heading");
    check((await page.locator("ol.to-ask li").count()) > 0, "the questions are listed");
    check(await page.getByRole("button", { name: "Print this page" }).isVisible(), "a print button");
    // The print stylesheet hides the site chrome.
    await page.emulateMedia({ media: "print" });
    check(await page.locator("header.site").isHidden(), "the header is not printed");
    check(await page.locator("ol.to-ask").isVisible(), "the questions are printed");
    await page.emulateMedia({ media: "screen" });
    await axe(page, "questions view");
  });

  await step("emergency: the urgent block comes first, visibly styled", async () => {
    await page.goto("/");
    await page.getByLabel("Your question").fill(EMERGENCY);
    await Promise.all([page.waitForURL("**/ask"), page.getByRole("button", { name: "Ask", exact: true }).click()]);
    const urgent = page.locator("section.urgent");
    check((await urgent.count()) === 1, "an urgent block");
    check(await urgent.isVisible(), "the urgent block is visible");
    // Before anything else in the answer: it is the article's first child and
    // nothing in the answer precedes it.
    const first = await page.evaluate(() => {
      const a = document.querySelector("article.answer");
      return a && a.firstElementChild ? a.firstElementChild.className : null;
    });
    check(/^urgent\b/.test(first || ""), `the urgent block is the answer's first element (got ${first})`);
    check((await page.locator("article.answer").first().getAttribute("data-urgency")) === "emergency", "urgency: emergency");
    const order = await page.evaluate(() => {
      const u = document.querySelector("section.urgent");
      const others = [...document.querySelectorAll("main h2, main h3, main .opener, main section")].filter((e) => e !== u && !u.contains(e));
      return others.every((e) => u.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING);
    });
    check(order, "every other heading and section follows the urgent block");
    const box = await urgent.boundingBox();
    const answerTitle = await page.locator(".answer-title").first().boundingBox();
    check(box && answerTitle && box.y < answerTitle.y, "the urgent block is drawn above the answer title");
    const style = await urgent.evaluate((el) => {
      const s = getComputedStyle(el);
      const h = getComputedStyle(el.querySelector("h2"));
      return { bg: s.backgroundColor, bw: parseFloat(s.borderTopWidth), bc: s.borderTopColor, bs: s.borderTopStyle, hc: h.color };
    });
    check(style.bg !== "rgba(0, 0, 0, 0)" && style.bg !== "rgb(255, 255, 255)", `tinted background (${style.bg})`);
    check(style.bw >= 2 && style.bs !== "none", `a visible border (${style.bw}px ${style.bs})`);
    check((await urgent.getAttribute("role")) === "alert", "announced as an alert");
    check(/What to do now/.test(await text(urgent.locator("h2"))), "a 'What to do now' heading");
    check((await urgent.locator("ol li").count()) > 0, "steps to take now");
    await axe(page, "emergency answer");
  });

  await step("urgent (amber): call the care team today, then the answer", async () => {
    await page.goto("/");
    await page.getByLabel("Your question").fill(URGENT);
    await Promise.all([page.waitForURL("**/ask"), page.getByRole("button", { name: "Ask", exact: true }).click()]);
    const article = page.locator("article.answer").first();
    check((await article.getAttribute("data-urgency")) === "urgent", "urgency: urgent");
    const block = page.locator("section.urgent.level-urgent");
    check((await block.count()) === 1 && (await block.isVisible()), "one visible care-team block");
    check(/contact your care team today/i.test(await text(block.locator(".level-badge"))), "says to contact the care team today");
    check((await page.locator("section.urgent.level-emergency").count()) === 0, "no emergency block");
    const style = await block.evaluate((el) => getComputedStyle(el).backgroundColor);
    check(style !== "rgba(0, 0, 0, 0)" && style !== "rgb(255, 255, 255)", `tinted background (${style})`);
    const box = await block.boundingBox();
    const body = await page.locator("section.body").first().boundingBox();
    check(box && body && box.y < body.y, "the question's answer follows the block");
    await axe(page, "urgent answer");
  });

  await step("share the seed answer: preview, consent, then a reviewer approves", async () => {
    await page.goto("/");
    await page.getByLabel("Your question").fill(SEED);
    await Promise.all([page.waitForURL("**/ask"), page.getByRole("button", { name: "Ask", exact: true }).click()]);
    const preview = page.locator("form.share .share-preview");
    check((await preview.count()) === 1, "the answer page offers sharing, with a preview");
    check((await preview.innerText()).includes(SEED), "the preview is the question (nothing identifying in it)");
    await axe(page, "answer with share form");
    // Without the box ticked, the browser does not send the form (required).
    await page.getByLabel(/I agree that this question/).check();
    await Promise.all([page.waitForURL("**/answers/share"), page.getByRole("button", { name: "Share for review" }).click()]);
    check(await page.getByRole("heading", { level: 1, name: "Sent for review" }).isVisible(), "sent for review");
    await axe(page, "shared");
    // Not public yet.
    await page.goto("/answers");
    check((await page.locator("ul.library a", { hasText: SEED }).count()) === 0, "not public before review");
    if (process.env.SEXTANT_BIN) {
      const out = execFileSync(process.env.SEXTANT_BIN, ["library", "review", "--approve-all"], { encoding: "utf8" });
      check(/published/.test(out), `the reviewer approved it (${out.trim()})`);
    }
  });

  await step("answer library: list and entry", async () => {
    await page.goto("/");
    await Promise.all([page.waitForURL("**/answers"), page.getByRole("link", { name: "Answer library" }).click()]);
    check(await page.getByRole("heading", { level: 1, name: "Answer library" }).isVisible(), "library heading");
    const link = page.locator("ul.library a", { hasText: SEED });
    check((await link.count()) >= 1, "the seed answer was published to the library");
    const emergencyListed = await page.locator("ul.library a", { hasText: EMERGENCY }).count();
    check(emergencyListed === 0, "the emergency answer is not published");
    await axe(page, "library list");
    if ((await link.count()) >= 1) {
      libraryHref = await link.first().getAttribute("href");
      await Promise.all([page.waitForURL("**" + libraryHref), link.first().click()]);
      check(await page.getByRole("heading", { level: 1, name: SEED }).isVisible(), "entry heading is the question");
      check((await page.locator("section.reading").count()) >= 2, "entry shows both readings");
      check((await page.locator("section.sources .src-date").count()) > 0, "entry shows review dates");
      await axe(page, "library entry");
      await Promise.all([page.waitForURL("**/questions"), page.getByRole("link", { name: /Questions for my next appointment/ }).click()]);
      check((await page.locator("ol.to-ask li").count()) > 0, "the entry's printable questions");
      await axe(page, "library questions view");
    }
  });

  await step("error page (unknown library entry)", async () => {
    const r = await page.goto("/answers/no-such-answer");
    check(r && r.status() === 404, `404 (${r && r.status()})`);
    check((await page.locator("h1").count()) === 1, "an h1");
    await axe(page, "error page");
  });

  const email = `browser-${Date.now()}@example.org`;
  const password = "correct horse battery staple";

  await step("register through the page", async () => {
    await page.goto("/");
    await Promise.all([page.waitForURL("**/register"), page.getByRole("link", { name: "Create an account" }).click()]);
    check((await page.getByRole("textbox", { name: "Email" }).count()) === 1, "labelled email field");
    check((await page.getByLabel("Password").count()) === 1, "labelled password field");
    await axe(page, "register");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await Promise.all([page.waitForURL("**/records"), page.getByRole("button", { name: "Create account" }).click()]);
    check(await page.getByRole("button", { name: "Log out" }).isVisible(), "logged in after registering");
  });

  await step("log out, then log in through the page (keyboard)", async () => {
    await Promise.all([page.waitForURL(BASE + "/"), page.getByRole("button", { name: "Log out" }).click()]);
    check(await page.getByRole("link", { name: "Log in" }).isVisible(), "logged out");
    await Promise.all([page.waitForURL("**/login"), page.getByRole("link", { name: "Log in" }).click()]);
    await axe(page, "login");
    // A wrong password is reported in the live status region.
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("wrong password 123");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator("#account-status:not(:empty)").waitFor();
    check((await text(page.locator("#account-status"))).length > 0, "a failed login is reported in the status region");
    await page.getByLabel("Password").fill(password);
    await page.getByLabel("Password").focus();
    await Promise.all([page.waitForURL("**/records"), page.keyboard.press("Enter")]);
    check(await page.getByRole("button", { name: "Log out" }).isVisible(), "logged in");
  });

  await step("upload a record on the upload page, with progress", async () => {
    check(existsSync(RECORD_FILE), `record file exists (${RECORD_FILE})`);
    check(await page.getByLabel("Record files").isVisible(), "labelled file input");
    await axe(page, "upload (empty)");
    // The page reloads when the upload is done; a MutationObserver keeps
    // what the progress bar and status region showed in sessionStorage.
    await page.evaluate(() => {
      const bar = document.getElementById("upload-progress");
      const status = document.getElementById("upload-status");
      const seen = { barShown: false, status: [] };
      new MutationObserver(() => {
        if (!bar.hidden) seen.barShown = true;
        if (status.textContent) seen.status.push(status.textContent);
        sessionStorage.setItem("upload-seen", JSON.stringify(seen));
      }).observe(document.getElementById("upload-form"), { subtree: true, attributes: true, childList: true, characterData: true });
    });
    await page.getByLabel("Record files").setInputFiles(RECORD_FILE);
    const name = path.basename(RECORD_FILE);
    await Promise.all([
      page.waitForEvent("load"),
      page.getByRole("button", { name: "Upload" }).click(),
    ]);
    await page.locator("table td", { hasText: name }).first().waitFor();
    const seen = JSON.parse((await page.evaluate(() => sessionStorage.getItem("upload-seen"))) || "{}");
    check(seen.barShown === true, "the progress bar was shown");
    check((seen.status || []).some((s) => /Uploading: \d+%|Uploaded/.test(s)), `progress was reported (${(seen.status || []).join(" / ")})`);
    check(await page.getByRole("button", { name: `Delete ${name}` }).isVisible(), "the record is listed with a labelled delete button");
    await axe(page, "upload (with a record)");
  });

  await step("profile: facts with their source; confirm one", async () => {
    await Promise.all([page.waitForURL("**/profile"), page.getByRole("link", { name: "Your profile", exact: true }).click()]);
    const rows = page.locator("table.facts tbody tr");
    const n = await rows.count();
    check(n > 0, `facts listed (${n})`);
    const name = path.basename(RECORD_FILE);
    const withSource = await page.locator("table.facts tbody tr td:nth-child(3) li", { hasText: name }).count();
    check(withSource > 0, "facts name the record they came from");
    await axe(page, "profile");
    if (n > 0) {
      // The first fact not confirmed yet.
      let idx = -1;
      for (let i = 0; i < n; i++) {
        const s = await text(rows.nth(i).locator("td:nth-child(4)"));
        if (s !== "confirmed") { idx = i; break; }
      }
      check(idx >= 0, "a fact to confirm");
      if (idx >= 0) {
        const row = rows.nth(idx);
        const field = await text(row.locator("td:nth-child(1)"));
        const fact = await text(row.locator("td:nth-child(2)"));
        const before = await text(row.locator("td:nth-child(4)"));
        const confirm = row.getByRole("button", { name: /Confirm/ });
        // Keyboard: focus the button and press Enter.
        await confirm.focus();
        await Promise.all([page.waitForEvent("load"), page.keyboard.press("Enter")]);
        const after = page.locator("table.facts tbody tr").filter({ has: page.locator("td:nth-child(2)", { hasText: fact }) })
          .filter({ has: page.locator("td:nth-child(1)", { hasText: field }) });
        check((await after.count()) >= 1, "the fact is still listed");
        const now = await text(after.first().locator("td:nth-child(4)"));
        check(now !== before && now === "confirmed", `status changed from '${before}' to '${now}'`);
      }
    }
  });

  await step("profile: turn on tailored answers (keyboard)", async () => {
    const box = page.getByRole("checkbox", { name: "Allow answers tailored to my records" });
    check((await box.count()) === 1, "a labelled setting");
    check(!(await box.isChecked()), "off until turned on");
    await box.focus();
    await Promise.all([page.waitForResponse("**/api/account/settings"), page.keyboard.press("Space")]);
    await page.locator("#profile-status:not(:empty)").waitFor();
    check(/tailored/.test(await text(page.locator("#profile-status"))), "the change is announced");
    await page.reload();
    check(await box.isChecked(), "the setting is kept");
    await axe(page, "profile (setting on)");
  });

  await step("personal answer while logged in, and its printable questions", async () => {
    await page.goto("/");
    const tailor = page.getByLabel("Tailor the answer to my records");
    check((await tailor.count()) === 1, "a labelled 'tailor' checkbox");
    await axe(page, "ask (logged in)");
    await page.getByLabel("Your question").fill(SEED);
    await Promise.all([page.waitForURL("**/ask"), page.getByRole("button", { name: "Ask", exact: true }).click()]);
    check((await page.locator("section.reading").count()) >= 1, "an answer");
    check((await page.locator("section.personal").count()) >= 1, "a 'for your situation' section from the records");
    await axe(page, "answer (personal)");
    await Promise.all([page.waitForURL("**/questions"), page.getByRole("button", { name: /Questions for my next appointment/ }).click()]);
    check((await page.locator("ol.to-ask li").count()) > 0, "the printable questions (logged in, with CSRF)");
    await axe(page, "questions view (logged in)");
  });

  await step("no script errors or CSP violations in the console", async () => {
    check(consoleProblems.length === 0, `console errors: ${consoleProblems.join(" || ")}`);
  });
} finally {
  await browser.close();
}

// ---------------------------------------------------------------- summary

console.log("\naxe-core " + JSON.parse(readFileSync(require.resolve("axe-core/package.json"), "utf8")).version + " summary:");
for (const r of axeReport) {
  const other = r.other.map((v) => `${v.id} (${v.impact}, ${v.count})`).join(", ");
  console.log(`  ${r.page.padEnd(28)} serious/critical: ${r.serious.length}${other ? "; moderate/minor: " + other : ""}`);
}
console.log(`\n${failures.length === 0 ? "PASS" : "FAIL"}: ${axeReport.length} page states checked with axe, ${failures.length} failure(s), ${((Date.now() - started) / 1000).toFixed(1)} s`);
for (const f of failures) console.log("  - " + f);
process.exit(failures.length === 0 ? 0 : 1);

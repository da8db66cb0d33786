// Drives the oncely console in headless Chromium. Run by browser.rs:
//   node console.mjs BASE_URL TOKEN ARTIFACTS_DIR IDS_JSON
// IDS_JSON: {"discarded": id, "discarded_fence": n, "in_doubt": id, "hostile": id}
// Exits non-zero with a message on the first expectation that fails;
// screenshots go to ARTIFACTS_DIR.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, token, artifacts, idsJson] = process.argv.slice(2);
const ids = JSON.parse(idsJson);
mkdirSync(artifacts, { recursive: true });

function expect(ok, what) {
  if (!ok) throw new Error(`expected: ${what}`);
  console.log(`ok: ${what}`);
}

const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
let dialogs = 0;
page.on("dialog", async (d) => { dialogs += 1; await d.dismiss(); });
const shot = (name) => page.screenshot({ path: join(artifacts, name), fullPage: true });

try {
  // 1. The overview's counts change while jobs run, without a reload.
  await page.goto(`${base}/`);
  const cell = 'tr[data-queue="demo"] td[data-state="completed"]';
  await page.waitForSelector(cell, { timeout: 15000 });
  const before = Number(await page.textContent(cell));
  let navigations = 0;
  page.on("framenavigated", () => { navigations += 1; });
  await page.waitForFunction(
    ([sel, n]) => Number(document.querySelector(sel)?.textContent) > n,
    [cell, before],
    { timeout: 20000 },
  );
  expect(navigations === 0, `completed count of queue demo rose from ${before} without reloading`);
  const workers = await page.$$eval("#workers-table tr[data-worker]", (rows) => rows.map((r) => r.textContent));
  expect(workers.some((w) => w.includes("demo=2") && w.includes("running")), `the worker is seen with its last heartbeat (${workers})`);
  await shot("overview.png");

  // 2. Filter jobs by state.
  await page.goto(`${base}/jobs`);
  await page.selectOption('#filters select[name="state"]', "discarded");
  await page.click('#filters button[type="submit"]');
  await page.waitForURL(/state=discarded/);
  const states = await page.$$eval("table.jobs tr[data-job] td:nth-child(2)", (tds) => tds.map((t) => t.textContent));
  expect(states.length >= 1 && states.every((s) => s === "discarded"), `only discarded jobs listed (${states})`);
  expect(await page.$(`tr[data-job="${ids.discarded}"]`) !== null, "the discarded job is listed");

  // 3. Open it: its attempt with its fencing token and worker.
  await page.click(`tr[data-job="${ids.discarded}"] a`);
  await page.waitForSelector("#attempts-table");
  const attempt = await page.textContent('#attempts-table tr[data-attempt="1"]');
  expect(attempt.includes(String(ids.discarded_fence)), `attempt 1 shows fence ${ids.discarded_fence}: ${attempt.trim()}`);
  expect(attempt.includes("browser-test-worker"), "attempt 1 shows its worker");
  await shot("job.png");

  // 4. Sign in.
  await page.goto(`${base}/login`);
  await page.fill('#login input[name="name"]', "browser-operator");
  await page.fill('#login input[name="token"]', token);
  await page.click('#login button[type="submit"]');
  await page.waitForSelector("text=signed in as browser-operator");
  expect(true, "signed in");

  // 5. Retry the discarded job.
  await page.goto(`${base}/jobs/${ids.discarded}`);
  const retry = page.locator(`form[action="/jobs/${ids.discarded}/retry"]`);
  await retry.locator('input[name="reason"]').fill("provider fixed");
  await retry.locator('button[type="submit"]').click();
  await page.waitForSelector("#flash");
  const flash = await page.textContent("#flash");
  expect(flash.includes("available"), `retry flash: ${flash}`);
  expect((await page.textContent("#state")).trim() !== "discarded", "the job is no longer discarded");

  // 6. Resolve the in-doubt job.
  await page.goto(`${base}/in-doubt`);
  const row = page.locator(`tr[data-job="${ids.in_doubt}"]`);
  await row.locator('select[name="as"]').selectOption("completed");
  await row.locator('input[name="reason"]').fill("charge found at the provider");
  await shot("in-doubt.png");
  await row.locator('button[type="submit"]').click();
  await page.waitForSelector("#flash");
  const resolved = await page.textContent("#flash");
  expect(resolved.includes("completed") && resolved.includes("browser-operator"), `resolve flash: ${resolved}`);

  // 7. A forged form (no CSRF value) is refused, even with the session cookie.
  const status = await page.evaluate(async (id) => {
    const res = await fetch(`/jobs/${id}/cancel`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "reason=forged&back=/",
      redirect: "manual",
    });
    return res.status;
  }, ids.hostile);
  expect(status === 403 || status === 401, `a forged post is refused (${status})`);

  // 8. Markup in args is shown as text.
  await page.goto(`${base}/jobs/${ids.hostile}`);
  const args = await page.textContent("#args");
  expect(args.includes("<script>alert(1)</script>"), "the args show the markup as text");
  expect(dialogs === 0, "no script from the args ran");
  const hostileState = (await page.textContent("#state")).trim();
  expect(hostileState === "available", `the forged cancel changed nothing (${hostileState})`);
  await shot("hostile.png");
} catch (e) {
  await shot("failure.png").catch(() => {});
  console.error(String(e && e.stack || e));
  await browser.close();
  process.exit(1);
}
await browser.close();
console.log("browser checks passed");

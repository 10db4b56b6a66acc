// "The PDG's day" in a real Chromium against the real backend, at 1280x800 and 390x844: the Demandes page and
// paging, the undo window, focus, another PDG deciding meanwhile, the phone, offline, attention outside the tab,
// live rights, and axe-core on every page and state in both colour schemes (see run.mjs and harness.mjs).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  PASSWORD,
  api,
  axeViolations,
  backend,
  config,
  grantPdg,
  launchBrowser,
  preview,
  register,
  revokePdg,
  sleep,
  startBackend,
  startPreview,
  within,
} from "./harness.mjs";

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** The app's undo window (src/store/listeners.ts UNDO_MS), and a margin for the request and its event. */
const UNDO_MS = 5000;
const AFTER_UNDO = UNDO_MS + 3000;

let browser;
const contexts = [];
const axeLog = [];
const shots = [];

class Tab {
  constructor(name, page, context, size) {
    this.name = name;
    this.page = page;
    this.context = context;
    this.size = size;
    page.on("pageerror", (e) => console.log(`[${name}] page error: ${e.message}`));
  }
  bell() {
    return this.page.getByTestId("bell");
  }
  async badgeText() {
    return (await this.page.getByTestId("bell-badge").textContent())?.trim();
  }
  dropdown() {
    return this.page.getByRole("region", { name: "Demandes artisan en attente" });
  }
  rows(scope = this.dropdown()) {
    return scope.locator('li[data-testid="artisan-request"]');
  }
  item(email, scope = this.dropdown()) {
    return this.rows(scope).filter({ hasText: email });
  }
  async openBell() {
    if ((await this.bell().getAttribute("aria-expanded")) !== "true") await this.bell().click();
    await this.dropdown().waitFor();
  }
  async closeBell() {
    if ((await this.bell().getAttribute("aria-expanded")) === "true") await this.bell().click();
  }
  async connection() {
    return this.page.getByTestId("connection-status").getAttribute("data-state");
  }
  /** axe-core in the light and the dark scheme: no violation of any impact. */
  async axe(label) {
    for (const scheme of ["light", "dark"]) {
      await this.page.emulateMedia({ colorScheme: scheme });
      await sleep(50);
      const v = await axeViolations(this.page);
      axeLog.push({ label: `${label} (${this.size}, ${scheme})`, violations: v.length });
      assert.deepEqual(v, [], `axe violations on ${label} (${this.size}, ${scheme})`);
    }
    await this.page.emulateMedia({ colorScheme: "light" });
  }
  async shot(file, scheme = "light", { top = false } = {}) {
    await this.page.emulateMedia({ colorScheme: scheme });
    await this.page.mouse.move(0, 0);
    if (top) await this.page.evaluate(() => window.scrollTo(0, 0));
    await sleep(250);
    const path = join(config.screenshotDir, `${this.size}-${file}${scheme === "dark" ? "-dark" : ""}.png`);
    await this.page.screenshot({ path });
    shots.push(path);
    await this.page.emulateMedia({ colorScheme: "light" });
  }
  /** Nothing wider than the viewport: no horizontal scroll. */
  async assertNoOverflow(what) {
    const { scroll, width } = await this.page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(scroll <= width, `${what}: page is ${scroll} px wide in a ${width} px viewport`);
  }
  async focusedName() {
    return this.page.evaluate(() => {
      const el = document.activeElement;
      return el ? `${el.tagName}:${(el.textContent ?? "").replace(/\s+/g, " ").trim()}` : "none";
    });
  }
}

async function newContext(size, opts = {}) {
  const context = await browser.newContext({
    viewport: size === "phone" ? PHONE : DESKTOP,
    ...(size === "phone" ? { isMobile: true, hasTouch: true } : {}),
    locale: "fr-FR",
    timezoneId: "Europe/Paris",
    ...opts,
  });
  contexts.push(context);
  return context;
}

async function openTab(name, email, size = "desktop", { init } = {}) {
  const context = await newContext(size);
  if (init) await context.addInitScript(init);
  const tab = new Tab(name, await context.newPage(), context, size);
  await tab.page.goto(config.webOrigin + "/");
  await tab.page.getByLabel("Email", { exact: true }).fill(email);
  await tab.page.getByLabel("Mot de passe", { exact: true }).fill(PASSWORD);
  await tab.page.getByRole("button", { name: "Se connecter" }).click();
  await tab.page.getByRole("button", { name: "Se déconnecter" }).waitFor({ timeout: 10_000 });
  await within(10_000, `${name} connected`, async () => (await tab.connection()) === "connected" || (await tab.connection()));
  return tab;
}

async function pendingCount(token) {
  const res = await api("GET", "/api/notifications/artisan-requests/count", { token });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.count;
}

/** Where a request stands, as the server lists it (status filter + search by email). */
async function statusOf(token, email) {
  for (const status of ["pending", "approved", "rejected"]) {
    const res = await api("GET", `/api/notifications/artisan-requests?status=${status}&q=${encodeURIComponent(email)}`, { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const r = res.body.requests.find((x) => x.email === email);
    if (r) return { status, ...r };
  }
  return null;
}

async function waitBadge(tab, token) {
  let n;
  await within(5000, `${tab.name} badge = server count`, async () => {
    n = await pendingCount(token);
    return (await tab.badgeText()) === String(n) || `${await tab.badgeText()} vs ${n}`;
  });
  return n;
}

/** The tab's title for n pending requests: the count, capped at "99+" (the suites before may leave many pending). */
const titleFor = (n) => (n > 0 ? `(${n > 99 ? "99+" : n}) Artisan Notify` : "Artisan Notify");

const s = {};
const tag = `Lot${Date.now().toString(36)}`;

describe("The PDG's day", { timeout: 900_000 }, () => {
  before(async () => {
    mkdirSync(config.screenshotDir, { recursive: true });
    await startBackend();
    await startPreview();
    browser = await launchBrowser();
    s.pdgA = await register("Paul", "Directeur", "Client");
    s.pdgB = await register("Pauline", "Directrice", "Client");
    s.pdgP = await register("Philippe", "Mobile", "Client");
    for (const p of [s.pdgA, s.pdgB, s.pdgP]) await grantPdg(p.email);
    s.A = await openTab("pdgA", s.pdgA.email, "desktop");
    s.P = await openTab("pdgPhone", s.pdgP.email, "phone");
  });

  after(async () => {
    // what this run left pending is decided, so that runs do not pile requests up
    if (s.pdgA && s.created) {
      for (const a of s.created) {
        await api("POST", `/api/notifications/artisan-requests/${a.user.id}/approve`, { token: s.pdgA.token }).catch(() => {});
      }
    }
    console.log("\n  axe-core (violations per page and state):");
    for (const a of axeLog) console.log(`    ${a.violations}  ${a.label}`);
    console.log(`  screenshots: ${shots.length} in ${config.screenshotDir}`);
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await preview.stop();
    await backend.stop();
  });

  test("login and registration pages: axe-clean in both schemes and sizes, nothing overflows at 320 px", async () => {
    for (const size of ["desktop", "phone"]) {
      const context = await newContext(size);
      const tab = new Tab(`anon-${size}`, await context.newPage(), context, size);
      await tab.page.goto(config.webOrigin + "/");
      await tab.page.getByRole("button", { name: "Se connecter" }).waitFor();
      await tab.axe("login");
      await tab.shot("login");
      await tab.page.getByRole("link", { name: "Créer un compte" }).click();
      await tab.page.getByRole("heading", { name: "Inscription" }).waitFor();
      await tab.axe("register");
      if (size === "phone") {
        await tab.page.setViewportSize({ width: 320, height: 640 });
        await tab.assertNoOverflow("registration at 320 px");
      }
      await context.close();
    }
  });

  test("55 pending requests: all reachable from the Demandes page (Voir plus), the bell pulls in the next after a decision", async () => {
    s.created = [];
    for (let i = 1; i <= 55; i++) s.created.push(await register(`Artisan${String(i).padStart(2, "0")}`, tag, "Artisan/Promoteur"));
    const n = await waitBadge(s.A, s.pdgA.token);
    assert.ok(n >= 55);
    assert.equal(await s.A.page.title(), titleFor(n), "the title carries the count");
    assert.equal(await s.A.page.locator('link[rel="icon"]').getAttribute("data-count"), String(n));

    // the bell lists a page and says how many more there are, with the way to them
    await s.A.openBell();
    await within(3000, "bell lists 50", async () => (await s.A.rows().count()) === 50 || (await s.A.rows().count()));
    await s.A.axe("bell open");
    await s.A.shot("bell");
    await s.A.shot("bell", "dark");
    await s.A.dropdown().getByRole("link", { name: /Voir toutes les demandes/ }).click();
    await s.A.page.getByRole("heading", { name: "Demandes artisan" }).waitFor();
    const page = s.A.page.locator("#requests-panel");
    await within(5000, "first page", async () => (await s.A.rows(page).count()) === 50 || (await s.A.rows(page).count()));
    let clicks = 0;
    while (await page.getByRole("button", { name: "Voir plus" }).count()) {
      await page.getByRole("button", { name: "Voir plus" }).click();
      clicks++;
      await sleep(300);
    }
    await within(5000, `all ${n} listed`, async () => (await s.A.rows(page).count()) === n || (await s.A.rows(page).count()));
    const text = await page.textContent();
    for (const a of s.created) assert.ok(text.includes(a.email), `${a.email} reachable`);
    console.log(`  ${n} pending, all listed after ${clicks} "Voir plus"`);
    assert.equal((await s.A.page.getByRole("tab", { name: /En attente/ }).textContent()).match(/\((\d+)\)/)[1], await s.A.badgeText());
    await s.A.axe("Demandes page, pending");
    await s.A.shot("demandes", "light", { top: true });

    // search: the run's tag finds its 55, over two pages
    await s.A.page.getByLabel("Rechercher un nom ou un email").fill(tag);
    await within(5000, "search first page", async () => (await page.getByTestId("list-summary").textContent()).includes(`sur 55 en attente pour « ${tag} »`) || (await page.getByTestId("list-summary").textContent()));
    await page.getByRole("button", { name: "Voir plus" }).click();
    await within(5000, "search: 55 listed", async () => (await s.A.rows(page).count()) === 55 || (await s.A.rows(page).count()));
    await s.A.page.getByLabel("Rechercher un nom ou un email").fill("");

    // a decision in the bell: the 51st comes in, badge and page agree with the server
    await s.A.openBell();
    const first = s.A.rows().first();
    const firstEmail = (await first.locator(".request-email").textContent()).trim();
    await first.locator('button[data-action="approve"]').click();
    await within(AFTER_UNDO, "decided on the server", async () => (await statusOf(s.pdgA.token, firstEmail))?.status === "approved");
    const m = await waitBadge(s.A, s.pdgA.token);
    assert.equal(m, n - 1);
    await within(5000, "the bell lists 50 again", async () => (await s.A.rows().locator('xpath=self::*[@data-state="pending"]').count()) === 50 || (await s.A.rows().count()));
    await within(3000, "title follows", async () => (await s.A.page.title()) === titleFor(m) || (await s.A.page.title()));
    await s.A.closeBell();
    await s.A.page.evaluate(() => (window.location.hash = "#/"));
    await s.A.page.getByRole("heading", { name: /^Bonjour/ }).waitFor();
  });

  test("undo: Annuler within the window sends nothing", async () => {
    await s.A.openBell();
    const row = s.A.rows().nth(1);
    const email = (await row.locator(".request-email").textContent()).trim();
    const name = (await row.locator(".request-name").textContent()).trim();
    await row.locator('button[data-action="approve"]').click();
    const undo = s.A.dropdown().getByRole("button", { name: `Annuler l'approbation de ${name}` });
    await undo.waitFor({ timeout: 1000 });
    await s.A.shot("undo");
    await undo.click();
    await s.A.item(email).locator('button[data-action="approve"]').waitFor({ timeout: 1000 });
    await sleep(UNDO_MS + 1500);
    assert.equal((await statusOf(s.pdgA.token, email))?.status, "pending", "an undone approval never reached the server");
  });

  test("keyboard: the reason box is focused, Escape closes only the form and keeps the reason, focus moves to the next request", async () => {
    await s.A.openBell();
    const rows = s.A.rows();
    const target = rows.nth(2);
    const email = (await target.locator(".request-email").textContent()).trim();
    const name = (await target.locator(".request-name").textContent()).trim();
    const next = (await rows.nth(3).locator(".request-name").textContent()).trim();
    await s.A.dropdown().getByRole("button", { name: `Rejeter ${name}` }).focus();
    await s.A.page.keyboard.press("Enter");
    assert.equal(await s.A.page.evaluate(() => document.activeElement?.tagName), "TEXTAREA", "the reason box has the focus");
    await s.A.page.keyboard.type("Pièces justificatives manquantes");
    assert.match(await target.textContent(), /Le motif sera montré au demandeur/);
    await s.A.axe("reject form");
    await s.A.shot("reject-form");
    await s.A.page.keyboard.press("Escape");
    assert.equal(await s.A.dropdown().count(), 1, "Escape in the form leaves the bell open");
    assert.match(await s.A.focusedName(), new RegExp(`^BUTTON:Rejeter ${name}`));
    await s.A.page.keyboard.press("Enter");
    assert.equal(await target.getByLabel("Motif du rejet (facultatif)").inputValue(), "Pièces justificatives manquantes", "the reason was kept");
    await target.getByRole("button", { name: /Confirmer le rejet/ }).click();
    await within(1000, "focus on the next request", async () => (await s.A.focusedName()) === `BUTTON:Approuver ${next}` || (await s.A.focusedName()));
    await within(AFTER_UNDO, "rejected on the server", async () => (await statusOf(s.pdgA.token, email))?.status === "rejected");
    const r = await statusOf(s.pdgA.token, email);
    assert.equal(r.reason, "Pièces justificatives manquantes");
    assert.equal(r.decided_by?.name, "Paul Directeur");
    s.rejected = s.created.find((a) => a.email === email);
    // Escape with the form closed closes the bell and gives the focus back to it
    await s.A.page.keyboard.press("Escape");
    assert.equal(await s.A.dropdown().count(), 0);
    assert.match(await s.A.focusedName(), /^BUTTON:Notifications/);
  });

  test("another PDG decides while the first types a reason: the row stays, greyed, with who and when, the reason kept; the toast names both", async () => {
    await s.A.openBell();
    const row = s.A.rows().nth(0);
    const email = (await row.locator(".request-email").textContent()).trim();
    const name = (await row.locator(".request-name").textContent()).trim();
    const a = s.created.find((x) => x.email === email);
    await s.A.dropdown().getByRole("button", { name: `Rejeter ${name}` }).click();
    await s.A.page.keyboard.type("Dossier à compléter");
    const before = await pendingCount(s.pdgA.token);
    const res = await api("POST", `/api/notifications/artisan-requests/${a.user.id}/approve`, { token: s.pdgB.token });
    assert.equal(res.status, 200);
    const settled = s.A.item(email);
    await within(2000, "greyed in place", async () => (await settled.getAttribute("data-state")) === "settled" || (await settled.getAttribute("data-state")));
    assert.match(await settled.textContent(), /Approuvée par Pauline Directrice à \d\d:\d\d/);
    assert.match(await settled.textContent(), /Votre motif, non envoyé : Dossier à compléter/);
    await within(2000, "badge down", async () => (await s.A.badgeText()) === String(before - 1) || (await s.A.badgeText()));
    await s.A.axe("bell with a request decided elsewhere");
    await s.A.shot("decided-elsewhere");
    await settled.getByRole("button", { name: `Masquer la demande de ${name}` }).click();
    assert.equal(await s.A.item(email).count(), 0);

    // decided elsewhere inside our undo window: our decision is dropped, the toast names the request and the decider
    const row2 = s.A.rows().nth(0);
    const email2 = (await row2.locator(".request-email").textContent()).trim();
    const name2 = (await row2.locator(".request-name").textContent()).trim();
    const a2 = s.created.find((x) => x.email === email2);
    await row2.locator('button[data-action="approve"]').click();
    const res2 = await api("POST", `/api/notifications/artisan-requests/${a2.user.id}/reject`, { token: s.pdgB.token, body: { reason: "Hors zone" } });
    assert.equal(res2.status, 200);
    await s.A.page
      .getByTestId("toast")
      .filter({ hasText: new RegExp(`La demande de ${name2} a déjà été refusée par Pauline Directrice à \\d\\d:\\d\\d`) })
      .waitFor({ timeout: 2000 });
    assert.match(await s.A.item(email2).textContent(), /Refusée par Pauline Directrice .* Motif : Hors zone/);
    await sleep(UNDO_MS);
    assert.equal((await statusOf(s.pdgA.token, email2)).decided_by?.name, "Pauline Directrice");
    for (const t of await s.A.page.getByTestId("toast").all()) await t.getByRole("button").click().catch(() => {});
  });

  test("the history tabs show who decided, when, and the reason", async () => {
    await s.A.closeBell();
    await s.A.page.goto(config.webOrigin + "/#/demandes");
    await s.A.page.getByRole("tab", { name: "Refusées" }).click();
    await s.A.page.getByLabel("Rechercher un nom ou un email").fill(s.rejected.email);
    const row = s.A.page.getByTestId("history-request").filter({ hasText: s.rejected.email });
    await row.waitFor({ timeout: 5000 });
    assert.match(await row.textContent(), /Refusée par Paul Directeur à \d\d:\d\d.*Motif : Pièces justificatives manquantes/);
    await s.A.page.getByLabel("Rechercher un nom ou un email").fill(tag);
    await s.A.page.getByRole("tab", { name: "Toutes" }).click();
    await within(5000, "all tab", async () => (await s.A.page.getByTestId("history-request").count()) >= 50);
    await s.A.axe("Demandes page, history");
    await s.A.page.getByRole("tab", { name: "Refusées" }).click();
    await sleep(500);
    await s.A.shot("history");
    await s.A.page.getByLabel("Rechercher un nom ou un email").fill("");
    await s.A.page.goto(config.webOrigin + "/#/");
  });

  test("phone: header and bell fit, approve and reject from the sheet, long names wrap, nothing overflows at 320 px", async () => {
    const P = s.P;
    await P.assertNoOverflow("phone home");
    const one = await register("Bérénice", "Téléphone", "Artisan/Promoteur");
    const two = await register("Maximilienaugustindelarochefoucauldmontmorency", "Deschampsdelaverriere", "Artisan/Promoteur");
    s.created.push(one, two);
    await P.openBell();
    const box = await P.dropdown().boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width + 0.5, `sheet within the screen: ${JSON.stringify(box)}`);
    await P.item(two.email).waitFor({ timeout: 3000 });
    await P.assertNoOverflow("phone bell open");
    const long = P.item(two.email);
    const fits = await long.evaluate((li) => [...li.querySelectorAll("*")].every((e) => e.getBoundingClientRect().right <= window.innerWidth + 0.5));
    assert.ok(fits, "a long unbroken name and email stay inside the screen");
    await P.axe("bell open");
    await P.shot("bell");

    await P.item(one.email).getByRole("button", { name: "Approuver Bérénice Téléphone" }).click();
    await P.item(two.email).getByRole("button", { name: /^Rejeter Maximilien/ }).click();
    await P.item(two.email).getByLabel("Motif du rejet (facultatif)").fill("Photo du SIRET illisible");
    await P.axe("reject form");
    await P.shot("reject-form");
    await P.item(two.email).getByRole("button", { name: /Confirmer le rejet/ }).click();
    await within(AFTER_UNDO, "approved from the phone", async () => (await statusOf(s.pdgP.token, one.email))?.status === "approved");
    await within(AFTER_UNDO, "rejected from the phone", async () => (await statusOf(s.pdgP.token, two.email))?.status === "rejected");
    assert.equal((await statusOf(s.pdgP.token, two.email)).reason, "Photo du SIRET illisible");
    s.phoneRejected = two;
    await P.closeBell();

    // the Demandes page on the phone
    await P.page.getByRole("link", { name: "Demandes", exact: true }).click();
    await P.page.getByRole("heading", { name: "Demandes artisan" }).waitFor();
    await within(5000, "phone list", async () => (await P.rows(P.page.locator("#requests-panel")).count()) > 0);
    await P.assertNoOverflow("phone Demandes page");
    await P.axe("Demandes page, pending");
    await P.shot("demandes", "light", { top: true });
    await P.shot("demandes", "dark", { top: true });
    await P.page.getByRole("tab", { name: "Refusées" }).click();
    await P.page.getByTestId("history-request").first().waitFor({ timeout: 5000 });
    await P.axe("Demandes page, history");
    await P.shot("history");
    const tabs = P.page.getByRole("tab");
    const tops = await tabs.evaluateAll((ts) => ts.map((t) => Math.round(t.getBoundingClientRect().top)));
    assert.equal(new Set(tops).size, 1, `the four tabs on one line at ${PHONE.width} px (tops ${tops})`);
    assert.ok(await tabs.evaluateAll((ts) => ts.every((t) => t.getBoundingClientRect().right <= window.innerWidth + 0.5)),
      `every tab in view at ${PHONE.width} px`);
    // the widest count the tab ever shows is "999+": the four tabs still fit at 390 px and at 360 px
    for (const width of [PHONE.width, 360]) {
      await P.page.setViewportSize({ width, height: PHONE.height });
      const overflow = await P.page.locator(".tab-count").evaluate((count) => {
        const was = count.textContent;
        count.textContent = "999+";
        const list = count.closest('[role="tablist"]');
        const tops = new Set([...list.querySelectorAll('[role="tab"]')].map((t) => Math.round(t.getBoundingClientRect().top)));
        const hidden = list.scrollWidth - list.clientWidth;
        count.textContent = was;
        return { lines: tops.size, hidden };
      });
      assert.deepEqual(overflow, { lines: 1, hidden: 0 }, `the tabs with a count of 999+ stay on one line, none scrolled out, at ${width} px`);
    }
    await P.page.setViewportSize(PHONE);

    await P.page.setViewportSize({ width: 320, height: 640 });
    await P.assertNoOverflow("Demandes page at 320 px");
    await P.page.goto(config.webOrigin + "/#/");
    await P.openBell();
    await P.assertNoOverflow("bell at 320 px");
    const box320 = await P.dropdown().boundingBox();
    assert.ok(box320.x >= 0 && box320.x + box320.width <= 320.5);
    await P.closeBell();
    await P.page.setViewportSize(PHONE);
  });

  test("the applicant sees the decision, its date and the reason (desktop and phone)", async () => {
    for (const [size, who, reason] of [
      ["desktop", s.rejected, "Pièces justificatives manquantes"],
      ["phone", s.phoneRejected, "Photo du SIRET illisible"],
    ]) {
      const X = await openTab(`applicant-${size}`, who.email, size);
      assert.equal(await X.page.getByTestId("artisan-status").getAttribute("data-status"), "rejected");
      assert.match(await X.page.getByTestId("artisan-reason").textContent(), new RegExp(reason));
      assert.match(await X.page.getByTestId("artisan-decided-at").textContent(), /Décision du \d\d\/\d\d\/\d{4}/);
      assert.equal(await X.bell().count(), 0);
      await X.assertNoOverflow("applicant");
      await X.axe("applicant, rejected");
      await X.shot("applicant-rejected");
      await X.context.close();
    }
    // live: a pending applicant sees the reason as the decision arrives
    const live = await register("Lina", "Enattente", "Artisan/Promoteur");
    const L = await openTab("applicant-live", live.email, "phone");
    assert.equal(await L.page.getByTestId("artisan-status").getAttribute("data-status"), "pending");
    await L.axe("applicant, pending");
    await api("POST", `/api/notifications/artisan-requests/${live.user.id}/reject`, { token: s.pdgB.token, body: { reason: "Activité non couverte" } });
    await L.page.getByTestId("artisan-reason").filter({ hasText: "Activité non couverte" }).waitFor({ timeout: 2000 });
    await L.context.close();
  });

  test("offline: a clear banner, decision buttons disabled; back online, what came meanwhile is counted and highlighted", async () => {
    await s.A.page.goto(config.webOrigin + "/#/");
    await within(10_000, "A connected", async () => (await s.A.connection()) === "connected");
    await s.A.openBell();
    await s.A.context.setOffline(true);
    await s.A.page.getByTestId("offline-banner").first().waitFor({ timeout: 3000 });
    const buttons = s.A.dropdown().locator('button[data-action="approve"]');
    assert.ok((await buttons.count()) > 0);
    for (const b of (await buttons.all()).slice(0, 5)) assert.equal(await b.isDisabled(), true);
    await s.A.axe("offline");
    await s.A.shot("offline");
    const c1 = await register("Absent", "Premier", "Artisan/Promoteur");
    const c2 = await register("Absent", "Second", "Artisan/Promoteur");
    s.created.push(c1, c2);
    await s.A.context.setOffline(false);
    await within(30_000, "A connected again", async () => (await s.A.connection()) === "connected" || (await s.A.connection()));
    await s.A.page.getByTestId("toast").filter({ hasText: /2 nouvelles demandes depuis votre absence/ }).waitFor({ timeout: 5000 });
    await s.A.openBell();
    for (const c of [c1, c2]) {
      const row = s.A.item(c.email);
      await row.waitFor({ timeout: 3000 });
      assert.match(await row.getAttribute("class"), /request-fresh/);
      assert.match(await row.textContent(), /Nouveau/);
    }
    await s.A.axe("bell after a reconnection (new rows highlighted)");
    await s.A.shot("back-online");
    await waitBadge(s.A, s.pdgA.token);
    await s.A.closeBell();
  });

  test("a hidden tab: desktop notification (permission granted from the button), grouped toasts, title count", async () => {
    // Records what the page shows through the real Notification API; `document.hidden` is driven by the test.
    const init = () => {
      window.__notes = [];
      const Real = window.Notification;
      if (Real) {
        window.Notification = class extends Real {
          constructor(title, opts) {
            super(title, opts);
            window.__notes.push({ title, body: opts?.body });
          }
        };
      }
      let hidden = false;
      window.__setHidden = (h) => {
        hidden = h;
        document.dispatchEvent(new Event("visibilitychange"));
      };
      Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => hidden });
    };
    const B = await openTab("pdgB", s.pdgB.email, "desktop", { init });
    const button = B.page.getByRole("button", { name: "Activer les notifications du bureau" });
    await button.waitFor();
    assert.equal(await B.page.evaluate(() => window.__notes.length), 0, "nothing asked or shown on load");
    // the user's "Autoriser" in the browser's prompt (Browser.grantPermissions for this context)
    await B.context.grantPermissions(["notifications"], { origin: config.webOrigin });
    await button.click();
    await B.page.getByTestId("desktop-notifications").filter({ hasText: "activées" }).waitFor({ timeout: 2000 });
    await B.page.evaluate(() => window.__setHidden(true));
    const n1 = await register("Nora", "Cachée", "Artisan/Promoteur");
    await within(3000, "a desktop notification", async () => (await B.page.evaluate(() => window.__notes.length)) === 1);
    assert.deepEqual(await B.page.evaluate(() => window.__notes[0]), { title: "Nouvelle demande artisan", body: "Nora Cachée" });
    s.created.push(n1);
    // a burst: one toast that counts
    await sleep(4500);
    const burst = [];
    for (let i = 0; i < 3; i++) burst.push(register(`Rafale${i}`, "Groupe", "Artisan/Promoteur"));
    s.created.push(...(await Promise.all(burst)));
    await B.page.getByTestId("toast").filter({ hasText: "3 nouvelles demandes artisan" }).waitFor({ timeout: 3000 });
    const notes = await B.page.evaluate(() => window.__notes.map((n) => n.title));
    assert.equal(notes.at(-1), "3 nouvelles demandes artisan");
    const n = await waitBadge(B, s.pdgB.token);
    assert.equal(await B.page.title(), titleFor(n));
    await B.page.evaluate(() => window.__setHidden(false));
    await B.axe("home with toasts");
    await B.shot("home-toasts");
    await B.context.close();
  });

  test("rights change live: granted, the bell appears; revoked, it goes (no reload)", async () => {
    const g = await register("Gaston", "Promu", "Client");
    const G = await openTab("gaston", g.email, "phone");
    assert.equal(await G.bell().count(), 0);
    await G.axe("client home");
    await grantPdg(g.email);
    await G.bell().waitFor({ timeout: 5000 });
    await waitBadge(G, g.token);
    await G.page.getByTestId("toast").filter({ hasText: "Vous êtes maintenant PDG" }).waitFor({ timeout: 2000 });
    await revokePdg(g.email);
    await within(5000, "bell gone", async () => (await G.bell().count()) === 0);
    await G.page.getByTestId("toast").filter({ hasText: "Vos droits de PDG ont été retirés" }).waitFor({ timeout: 2000 });
    assert.equal(await G.page.title(), "Artisan Notify");
    await G.context.close();
  });
  test("leaving the page inside the undo window still sends the decision (pagehide, fetch keepalive)", async () => {
    const a = await register("Quentin", "Départ", "Artisan/Promoteur");
    s.created?.push(a);
    const T = await openTab("pdgB-leaving", s.pdgB.email, "desktop");
    await T.openBell();
    await T.item(a.email).getByRole("button", { name: "Approuver Quentin Départ" }).click();
    await T.item(a.email).getByRole("button", { name: /^Annuler/ }).waitFor({ timeout: 1000 });
    const t0 = Date.now();
    await T.page.close({ runBeforeUnload: true });
    await within(3000, "approved on the server", async () => (await statusOf(s.pdgB.token, a.email))?.status === "approved");
    assert.ok(Date.now() - t0 < UNDO_MS, "sent at once by the flush, not by the timer of a closed page");
    await T.context.close();
  });
});

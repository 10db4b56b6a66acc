// Browser tests of the PDG notification bell against the real backend (see run.mjs and harness.mjs).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  PASSWORD,
  api,
  backend,
  config,
  grantPdg,
  launchBrowser,
  preview,
  register,
  sleep,
  startBackend,
  startPreview,
  within,
} from "./harness.mjs";

/** One logged-in browser tab, with its own context (own sessionStorage). */
class Tab {
  constructor(name, page) {
    this.name = name;
    this.page = page;
    this.websockets = [];
    page.on("websocket", (ws) => {
      if (ws.url().includes("/socket.io/")) this.websockets.push(ws);
    });
    page.on("pageerror", (e) => console.log(`[${name}] page error: ${e.message}`));
  }
  bell() {
    return this.page.getByTestId("bell");
  }
  badge() {
    return this.bell().getByTestId("bell-badge");
  }
  async badgeText() {
    return (await this.badge().textContent())?.trim();
  }
  dropdown() {
    return this.page.getByRole("region", { name: "Demandes artisan en attente" });
  }
  item(email) {
    return this.dropdown().getByRole("listitem").filter({ hasText: email });
  }
  async connection() {
    return this.page.getByTestId("connection-status").getAttribute("data-state");
  }
  async openBell() {
    if ((await this.bell().getAttribute("aria-expanded")) !== "true") await this.bell().click();
    await this.dropdown().waitFor();
  }
  async applicantStatus() {
    return this.page.getByTestId("artisan-status").getAttribute("data-status");
  }
}

let browser;
const contexts = [];

async function openTab(name, email) {
  const context = await browser.newContext({
    viewport: { width: 1200, height: 760 },
    locale: "fr-FR",
    timezoneId: "Europe/Paris",
  });
  contexts.push(context);
  const t0 = Date.now();
  const tab = new Tab(name, await context.newPage());
  const { page } = tab;
  await page.goto(config.webOrigin + "/");
  const t1 = Date.now();
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Mot de passe", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.getByRole("button", { name: "Se déconnecter" }).waitFor({ timeout: 10_000 });
  const t2 = Date.now();
  await within(10_000, `${name} connected`, async () => (await tab.connection()) === "connected" || (await tab.connection()));
  console.log(`  ${name}: page ${t1 - t0} ms, login ${t2 - t1} ms, socket ${Date.now() - t2} ms`);
  return tab;
}

async function pendingCount(token) {
  const res = await api("GET", "/api/notifications/artisan-requests/count", { token });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.count;
}

/** The app's undo window (src/store/listeners.ts UNDO_MS): a decision leaves this long after the click. */
const UNDO_MS = 5000;

const s = {}; // state shared by the tests, which run in order

describe("PDG notification bell", { timeout: 600_000 }, () => {
  before(async () => {
    mkdirSync(config.screenshotDir, { recursive: true });
    await startBackend();
    await startPreview();
    browser = await launchBrowser();

    s.pdgA = await register("Paul", "Directeur", "Client");
    s.pdgB = await register("Pauline", "Directrice", "Client");
    await grantPdg(s.pdgA.email);
    await grantPdg(s.pdgB.email);
    const me = await api("GET", "/api/users/me", { token: s.pdgA.token });
    assert.equal(me.body.is_pdg, true, "grant command did not make the contact a PDG");

    s.A = await openTab("pdgA", s.pdgA.email);
    s.B = await openTab("pdgB", s.pdgB.email);
    const n = await pendingCount(s.pdgA.token);
    for (const t of [s.A, s.B]) {
      await within(5000, `${t.name} badge shows the pending count ${n}`, async () => (await t.badgeText()) === String(n) || (await t.badgeText()));
    }
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await preview.stop();
    await backend.stop();
  });

  test("an artisan registers: both PDG badges go up within 1 s, with a toast and the request listed", async () => {
    const before = await pendingCount(s.pdgA.token);
    s.amina = await register("Amina", "Diallo", "Artisan/Promoteur");
    const want = String(before + 1);
    for (const t of [s.A, s.B]) {
      const ms = await within(1000, `${t.name} badge = ${want}`, async () => (await t.badgeText()) === want || (await t.badgeText()));
      console.log(`  ${t.name}: badge ${want} after ${ms} ms`);
      await t.page.getByTestId("toast").filter({ hasText: "Nouvelle demande artisan : Amina Diallo" }).first().waitFor({ timeout: 2000 });
    }
    for (const t of [s.A, s.B]) {
      await t.openBell();
      const item = t.item(s.amina.email);
      await item.waitFor({ timeout: 2000 });
      assert.match(await item.textContent(), /Amina Diallo/);
      assert.ok(await item.locator("time").getAttribute("datetime"), "the request shows its date");
    }
  });

  test("screenshot of the open bell with requests", async () => {
    s.jean = await register("Jean", "Dupont", "Artisan/Promoteur");
    await s.A.item(s.jean.email).waitFor({ timeout: 2000 });
    await s.A.page.mouse.move(0, 0);
    await sleep(300); // let the badge/toast animations settle
    const file = join(config.screenshotDir, "bell.png");
    await s.A.page.screenshot({ path: file });
    console.log(`  screenshot: ${file}`);
  });

  test("the applicant (not a PDG) never sees the bell, and sees their request pending", async () => {
    s.X = await openTab("applicant-amina", s.amina.email);
    await within(2000, "applicant status pending", async () => (await s.X.applicantStatus()) === "pending" || (await s.X.applicantStatus()));
    assert.equal(await s.X.bell().count(), 0, "a non-PDG must not see the bell");
  });

  test("a PDG approves in the UI: after the undo window it leaves their dropdown, the other PDG sees who decided, the applicant sees it live", async () => {
    const before = await pendingCount(s.pdgA.token);
    const item = s.A.item(s.amina.email);
    await item.getByRole("button", { name: "Approuver Amina Diallo" }).click();
    const t0 = Date.now();
    await within(UNDO_MS + 1000, "A: Amina's request gone", async () => (await s.A.item(s.amina.email).count()) === 0);
    const onB = s.B.item(s.amina.email);
    await within(1000, "B: greyed, with who decided", async () => (await onB.getAttribute("data-state")) === "settled" || (await onB.getAttribute("data-state")));
    assert.match(await onB.textContent(), /Approuvée par Paul Directeur/);
    for (const t of [s.A, s.B]) {
      await within(1000, `${t.name} badge = ${before - 1}`, async () => (await t.badgeText()) === String(before - 1) || (await t.badgeText()));
    }
    console.log(`  decided ${Date.now() - t0} ms after the click (undo window ${UNDO_MS} ms)`);
    await within(1000, "applicant sees approved", async () => (await s.X.applicantStatus()) === "approved" || (await s.X.applicantStatus()));
    await s.X.page.getByTestId("toast").filter({ hasText: "Votre demande artisan a été approuvée." }).waitFor({ timeout: 1000 });
    assert.equal(await s.X.bell().count(), 0);
    const me = await api("GET", "/api/users/me", { token: s.amina.token });
    assert.equal(me.body.demande_artisan, false);
  });

  test("a PDG rejects with a reason: after the undo window it leaves their dropdown, the other PDG sees who and why, the applicant sees it live", async () => {
    s.yanis = await register("Yanis", "Martin", "Artisan/Promoteur");
    s.Y = await openTab("applicant-yanis", s.yanis.email);
    assert.equal(await s.Y.applicantStatus(), "pending");
    for (const t of [s.A, s.B]) await t.item(s.yanis.email).waitFor({ timeout: 2000 });
    const before = await pendingCount(s.pdgA.token);

    const item = s.B.item(s.yanis.email);
    await item.getByRole("button", { name: "Rejeter Yanis Martin" }).click();
    await item.getByLabel("Motif du rejet (facultatif)").fill("Dossier incomplet");
    await item.getByRole("button", { name: "Confirmer le rejet" }).click();
    const t0 = Date.now();
    await within(UNDO_MS + 1000, "B: Yanis's request gone", async () => (await s.B.item(s.yanis.email).count()) === 0);
    const onA = s.A.item(s.yanis.email);
    await within(1000, "A: greyed, with who decided and why", async () => (await onA.getAttribute("data-state")) === "settled" || (await onA.getAttribute("data-state")));
    assert.match(await onA.textContent(), /Refusée par Pauline Directrice .*Motif : Dossier incomplet/);
    for (const t of [s.B, s.A]) {
      await within(1000, `${t.name} badge = ${before - 1}`, async () => (await t.badgeText()) === String(before - 1) || (await t.badgeText()));
    }
    console.log(`  decided ${Date.now() - t0} ms after the click (undo window ${UNDO_MS} ms)`);
    await within(1000, "applicant sees rejected", async () => (await s.Y.applicantStatus()) === "rejected" || (await s.Y.applicantStatus()));
    assert.equal(await s.Y.bell().count(), 0);
  });

  test("one socket per tab across logins and re-renders", async () => {
    for (const t of [s.A, s.B, s.X, s.Y]) assert.equal(t.websockets.length, 1, `${t.name} opened ${t.websockets.length} sockets`);
  });

  test("the server restarts: reconnecting, then connected, with the right count (resync)", async () => {
    await backend.stop();
    for (const t of [s.A, s.B]) {
      await within(5000, `${t.name} shows reconnecting`, async () => {
        const st = await t.connection();
        return st === "reconnecting" || st;
      });
      assert.match(await t.page.getByTestId("connection-status").textContent(), /Reconnexion/);
    }
    await sleep(3000); // a few failed attempts: the backoff grows
    await startBackend();
    // Registered as soon as the server is back, most likely before the tabs reconnect (backoff): only the
    // resync can bring it.
    s.zoe = await register("Zoé", "Lefèvre", "Artisan/Promoteur");
    const t0 = Date.now();
    for (const t of [s.A, s.B]) {
      await within(30_000, `${t.name} connected again`, async () => (await t.connection()) === "connected" || (await t.connection()));
    }
    console.log(`  reconnected ${Date.now() - t0} ms after the registration`);
    const n = await pendingCount(s.pdgA.token);
    for (const t of [s.A, s.B]) {
      await within(3000, `${t.name} badge = ${n}`, async () => (await t.badgeText()) === String(n) || (await t.badgeText()));
      await t.openBell();
      await t.item(s.zoe.email).waitFor({ timeout: 3000 });
    }
  });

  test("logout disconnects the socket and shows the login form again", async () => {
    const ws = s.A.websockets.at(-1);
    const closed = ws.isClosed() ? Promise.resolve() : new Promise((r) => ws.on("close", r));
    await s.A.page.getByRole("button", { name: "Se déconnecter" }).click();
    await s.A.page.getByRole("button", { name: "Se connecter" }).waitFor({ timeout: 2000 });
    await Promise.race([closed, sleep(3000).then(() => assert.fail("socket still open after logout"))]);
    assert.equal(await s.A.page.evaluate(() => sessionStorage.length), 0);
  });

  test("the login and registration forms: the server's error, the password checks, then a new session", async () => {
    const { page } = s.A;
    await page.getByLabel("Email", { exact: true }).fill(s.pdgA.email);
    await page.getByLabel("Mot de passe", { exact: true }).fill("not-the-password");
    await page.getByRole("button", { name: "Se connecter" }).click();
    await page.getByRole("alert").waitFor({ timeout: 2000 });
    assert.ok((await page.getByRole("alert").textContent())?.trim(), "the login error is shown");
    assert.equal(await page.getByRole("button", { name: "Se connecter" }).isEnabled(), true);

    await page.getByRole("link", { name: "Créer un compte" }).click();
    await page.getByRole("heading", { name: "Inscription" }).waitFor({ timeout: 2000 });
    const email = `lea.form.${Date.now()}@example.com`;
    await page.getByLabel("Prénom", { exact: true }).fill("Léa");
    await page.getByLabel("Nom", { exact: true }).fill("Formulaire");
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Mot de passe", { exact: true }).fill("court");
    await page.getByLabel("Confirmer le mot de passe", { exact: true }).fill("court");
    await page.getByRole("button", { name: "Créer mon compte" }).click();
    assert.equal(await page.getByRole("alert").textContent(), "Le mot de passe doit contenir de 8 à 128 caractères.");
    await page.getByLabel("Mot de passe", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Confirmer le mot de passe", { exact: true }).fill(PASSWORD + "x");
    await page.getByRole("button", { name: "Créer mon compte" }).click();
    assert.equal(await page.getByRole("alert").textContent(), "Les mots de passe ne correspondent pas.");
    await page.getByLabel("Confirmer le mot de passe", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Créer mon compte" }).click();

    await page.getByRole("heading", { name: "Bonjour Léa" }).waitFor({ timeout: 5000 });
    await page.getByText("Votre compte client est actif.").waitFor({ timeout: 2000 });
    assert.equal(await s.A.bell().count(), 0);
    assert.equal(await page.evaluate(() => window.location.hash), "");
    assert.equal(JSON.parse(await page.evaluate(() => sessionStorage.getItem("artisan-notify.session"))).user.email, email);
    await within(5000, "connected after registering", async () => (await s.A.connection()) === "connected" || (await s.A.connection()));
  });
});

import { describe, expect, it } from "vitest";
import { req, user } from "../test/fixtures";
import { addRequest, applicantStatus, decideOwn, mergeAnswer, mergeUser, removeRequest, type Pending } from "./pending";

const pending = (count: number, ids: number[], decided: number[] = []): Pending => ({ count, requests: ids.map((id) => req(id)), decided });
const ids = (p: Pending) => p.requests.map((r) => r.contact_id);

describe("pending requests cache", () => {
  it("a new request is listed newest first and counted once", () => {
    const p = pending(1, [1]);
    addRequest(p, req(2));
    addRequest(p, req(2));
    expect(p.count).toBe(2);
    expect(ids(p)).toEqual([2, 1]);
  });

  it("orders ties on created_at by the higher id first", () => {
    const p = pending(0, []);
    const t = "2026-01-05T10:00:00Z";
    for (const id of [4, 9, 6]) addRequest(p, req(id, t));
    expect(ids(p)).toEqual([9, 6, 4]);
  });

  it("a decided request is removed and uncounted once (our click and the event may both arrive)", () => {
    const p = pending(2, [2, 1]);
    removeRequest(p, 2);
    removeRequest(p, 2);
    expect(p.count).toBe(1);
    expect(ids(p)).toEqual([1]);
  });

  it("a decision beyond the listed page still uncounts it, never below zero", () => {
    const p = pending(60, [2]);
    removeRequest(p, 99);
    expect(p.count).toBe(59);
    expect(ids(p)).toEqual([2]);
    const empty = pending(0, []);
    removeRequest(empty, 3);
    expect(empty.count).toBe(0);
  });

  it("a decided request never comes back from a late event or an overtaken answer", () => {
    const p = pending(1, [5]);
    removeRequest(p, 5);
    addRequest(p, req(5));
    expect(p.count).toBe(0);
    // The answer was computed before the decision: it still lists and counts 5.
    mergeAnswer(p, pending(2, [5, 4]));
    expect(ids(p)).toEqual([4]);
    expect(p.count).toBe(1);
    // A fresh answer is taken as it is.
    mergeAnswer(p, pending(3, [7, 4]));
    expect(ids(p)).toEqual([7, 4]);
    expect(p.count).toBe(3);
  });
});

describe("applicant status", () => {
  it("comes from artisan_status, else from demande_artisan and the account type", () => {
    expect(applicantStatus(user({ artisan_status: "rejected", demande_artisan: false }))).toBe("rejected");
    expect(applicantStatus(user())).toBe("pending");
    expect(applicantStatus(user({ type_compte: "Client", demande_artisan: false }))).toBe("none");
    expect(applicantStatus(user({ demande_artisan: false }))).toBe("decided");
  });

  it("a decision learnt from an event survives a refetch from a server without artisan_status", () => {
    const u = user();
    decideOwn(u, "approved");
    expect(applicantStatus(u)).toBe("approved");
    expect(applicantStatus(mergeUser(u, user({ demande_artisan: false })))).toBe("approved");
    // ...but the server's word wins when it gives one.
    expect(applicantStatus(mergeUser(u, user({ demande_artisan: false, artisan_status: "rejected" })))).toBe("rejected");
    expect(applicantStatus(mergeUser(u, user({ demande_artisan: true })))).toBe("pending");
  });
});

import { describe, expect, it } from "vitest";
import { badgeCount, breakableEmail } from "./format";

describe("badgeCount", () => {
  it("shows a count up to 999 exactly and caps it after", () => {
    expect(badgeCount(0)).toBe("0");
    expect(badgeCount(101)).toBe("101");
    expect(badgeCount(999)).toBe("999");
    expect(badgeCount(1000)).toBe("999+");
    expect(badgeCount(123456)).toBe("999+");
  });
});

describe("breakableEmail", () => {
  it("lets an address break after @ and before each dot", () => {
    expect(breakableEmail("a.b@c.fr")).toEqual(["a", { wbr: true }, ".b@", { wbr: true }, "c", { wbr: true }, ".fr"]);
  });
});

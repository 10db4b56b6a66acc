const dateFormat = new Intl.DateTimeFormat("fr-FR", { dateStyle: "short", timeStyle: "short" });

export function formatDate(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateFormat.format(d);
}

/** An email as text that may break after "@" and before each ".", instead of anywhere (long unbroken addresses). */
export function breakableEmail(email: string): (string | { wbr: true })[] {
  const parts: (string | { wbr: true })[] = [];
  for (const piece of email.split(/(?<=@)|(?=\.)/)) {
    if (parts.length) parts.push({ wbr: true });
    parts.push(piece);
  }
  return parts;
}

/** A count as a short badge shows it: exact up to 999, then "999+" (the list's summary gives the exact figure). */
export function badgeCount(count: number): string {
  return count > 999 ? "999+" : String(count);
}

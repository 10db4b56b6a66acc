import { useEffect, useLayoutEffect, useState } from "react";

export const APP_TITLE = "Artisan Notify";

/** "(3) Artisan Notify", or the bare title when nothing waits. */
export function titleWithCount(count: number, title: string = APP_TITLE): string {
  return count > 0 ? `(${count > 99 ? "99+" : count}) ${title}` : title;
}

/** The tab's icon: the app's mark, with a red dot when requests wait. */
export function faviconSvg(dot: boolean): string {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">` +
    `<rect width="32" height="32" rx="7" fill="#1d4ed8"/>` +
    `<path fill="#fff" d="M16 26a3 3 0 0 0 2.9-2.4h-5.8A3 3 0 0 0 16 26Zm8-7v-5a8 8 0 0 0-6.3-7.8V5.5a1.7 1.7 0 0 0-3.4 0v.7A8 8 0 0 0 8 14v5l-2 2v1h20v-1l-2-2Z"/>` +
    (dot ? `<circle cx="25" cy="7" r="6.5" fill="#dc2626" stroke="#fff" stroke-width="1.5"/>` : "") +
    `</svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

/**
 * Keeps the document's title and favicon telling the pending count, for a tab in the background.
 * A layout effect, so that the title changes in the same commit as the badge: never one count in
 * the bell and another in the tab.
 */
export function useTitleAndFavicon(count: number): void {
  useLayoutEffect(() => {
    document.title = titleWithCount(count);
    let link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
    if (!link) {
      link = document.createElement("link");
      link.rel = "icon";
      document.head.appendChild(link);
    }
    link.type = "image/svg+xml";
    link.href = faviconSvg(count > 0);
    link.dataset.count = String(count);
  }, [count]);
  useEffect(
    () => () => {
      document.title = APP_TITLE;
      const link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
      if (link) link.href = faviconSvg(false);
    },
    [],
  );
}

export type Permission = NotificationPermission | "unsupported";

function currentPermission(): Permission {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

/** The desktop notifications' permission, and asking for it (only from a click, never on load). */
export function useDesktopPermission(): [Permission, () => void] {
  const [permission, setPermission] = useState<Permission>(currentPermission);
  const ask = () => {
    if (typeof Notification === "undefined") return;
    void Notification.requestPermission().then(setPermission, () => setPermission(currentPermission()));
  };
  return [permission, ask];
}

/** Shows a desktop notification when the permission was given; clicking it brings the tab back. */
export function showDesktopNotification(title: string, body: string): void {
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
  try {
    const n = new Notification(title, { body, tag: "artisan-requests", icon: faviconSvg(true) });
    n.onclick = () => {
      window.focus();
      window.location.hash = "#/demandes";
      n.close();
    };
  } catch {
    // some browsers allow notifications only from a service worker: the title and favicon still tell
  }
}

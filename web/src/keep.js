// The app's files, kept in the cache its service worker (public/sw.js) falls
// back to, as soon as they are loaded: a reload without a network opens the app.
const CACHE = "titiktemu-app";

/** Keeps every file of this origin the page has loaded so far. */
export async function keepLoadedFiles() {
  if (!import.meta.env.PROD || !("caches" in window)) return;
  const own = performance
    .getEntriesByType("resource")
    .map((entry) => entry.name)
    .filter((url) => new URL(url).origin === window.location.origin && !url.endsWith("/sw.js"));
  const cache = await caches.open(CACHE);
  await Promise.all(["./", ...own].map((url) => cache.add(url).catch(() => {})));
}

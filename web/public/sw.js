// Keeps the app's own files so that a reload without a network still opens
// the app (the door's queue lives in IndexedDB). Network first: a deploy is
// seen at once; the kept copy only when the network fails. API calls (other
// origins) are not touched.
const CACHE = "titiktemu-app";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(async () => (await caches.match(request, { ignoreSearch: true })) ?? (await caches.match("./")) ?? Response.error()),
  );
});

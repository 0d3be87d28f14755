// StarlingMonkey hands each request to the `fetch` event, as a service worker gets it; the
// WebWorker library's `addEventListener` does not know that event, this overload does.
declare function addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;

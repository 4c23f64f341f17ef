// The live view's two charts, drawn as SVG (no chart library): arrivals per
// 15 minutes (the statistics' buckets) and people inside over time (one
// point per live update this page received, kept for the browser session).
const NS = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 180;
const PAD = { left: 36, right: 8, top: 10, bottom: 24 };

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

function frame(label, max) {
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": label, class: "chart" });
  const bottom = HEIGHT - PAD.bottom;
  root.append(
    svg("line", { x1: PAD.left, y1: bottom, x2: WIDTH - PAD.right, y2: bottom, class: "axis" }),
    svg("text", { x: PAD.left - 6, y: PAD.top + 8, "text-anchor": "end", class: "tick" }, String(max)),
    svg("text", { x: PAD.left - 6, y: bottom, "text-anchor": "end", class: "tick" }, "0"),
  );
  return root;
}

const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

const QUARTER = 15 * 60000;

/** Every 15 minutes from the first bucket to now (or the last bucket), the empty ones as 0. */
function everyQuarter(buckets) {
  if (!buckets.length) return [];
  const counts = new Map(buckets.map((b) => [new Date(b.start).getTime(), b.count]));
  const first = Math.min(...counts.keys());
  const last = Math.max(...counts.keys(), Math.floor(Date.now() / QUARTER) * QUARTER);
  const all = [];
  for (let at = first; at <= last && all.length < 96; at += QUARTER) {
    all.push({ start: new Date(at).toISOString(), count: counts.get(at) ?? 0 });
  }
  return all;
}

/** Bars: one per 15-minute bucket `{ start, count }` (the empty ones too, at most a day). */
export function arrivalsChart(given) {
  const buckets = everyQuarter(given);
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const root = frame("Arrivals per 15 minutes", max);
  root.id = "arrivals-chart";
  root.dataset.total = String(given.reduce((sum, b) => sum + b.count, 0));
  const slot = Math.min((WIDTH - PAD.left - PAD.right) / Math.max(buckets.length, 1), 48);
  const tall = HEIGHT - PAD.top - PAD.bottom;
  buckets.forEach((bucket, i) => {
    const height = (bucket.count / max) * tall;
    const x = PAD.left + i * slot + 2;
    const bar = svg("rect", { x, y: HEIGHT - PAD.bottom - height, width: Math.max(slot - 4, 1), height, class: "bar" });
    bar.dataset.start = bucket.start;
    bar.dataset.count = String(bucket.count);
    bar.append(svg("title", {}, `${clock(bucket.start)}: ${bucket.count}`));
    root.append(bar);
    if (buckets.length <= 12 || i % Math.ceil(buckets.length / 12) === 0) {
      root.append(svg("text", { x: x + slot / 2 - 2, y: HEIGHT - 6, "text-anchor": "middle", class: "tick" }, clock(bucket.start)));
    }
  });
  return root;
}

/** A step line through `{ at, inside }` samples, oldest first. */
export function insideChart(samples) {
  const max = Math.max(1, ...samples.map((s) => s.inside));
  const root = frame("People inside over time", max);
  root.id = "inside-chart";
  root.dataset.points = String(samples.length);
  root.dataset.last = String(samples.at(-1)?.inside ?? 0);
  if (!samples.length) return root;
  const from = new Date(samples[0].at).getTime();
  const to = Math.max(Date.now(), from + 60000);
  const x = (at) => PAD.left + ((new Date(at).getTime() - from) / (to - from)) * (WIDTH - PAD.left - PAD.right);
  const y = (inside) => HEIGHT - PAD.bottom - (inside / max) * (HEIGHT - PAD.top - PAD.bottom);
  let d = `M ${x(samples[0].at)} ${y(samples[0].inside)}`;
  for (const s of samples.slice(1)) d += ` H ${x(s.at)} V ${y(s.inside)}`;
  d += ` H ${WIDTH - PAD.right}`;
  root.append(
    svg("path", { d, class: "line" }),
    svg("text", { x: PAD.left, y: HEIGHT - 6, class: "tick" }, clock(samples[0].at)),
    svg("text", { x: WIDTH - PAD.right, y: HEIGHT - 6, "text-anchor": "end", class: "tick" }, "now"),
  );
  return root;
}

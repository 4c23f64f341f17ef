// CSV downloads, built in the browser from the API's pages (RFC 4180:
// fields quoted where needed, CRLF line ends).
const cell = (value) => {
  const text = value == null ? "" : String(value);
  // A leading =, +, -, @, tab or carriage return would run as a formula in a spreadsheet.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
};

/** The CSV text of `rows` (arrays) under `header`. */
export const toCsv = (header, rows) => [header, ...rows].map((row) => row.map(cell).join(",")).join("\r\n") + "\r\n";

/** Offers `text` as a file called `name`. */
export function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// Minimal path helpers (JSR's @std/path is unreachable here).
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/").replace(/\/+/g, "/");
  const abs = joined.startsWith("/");
  const out: string[] = [];
  for (const seg of joined.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return (abs ? "/" : "") + out.join("/");
}

export function dirname(path: string): string {
  const i = path.replace(/\/+$/, "").lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

export function fromFileUrl(url: string | URL): string {
  return decodeURIComponent(new URL(url).pathname);
}

// Child processes of the local stack (pg_net worker, functions gateway) exit
// when their parent does: the parent holds our stdin open, so end-of-file on
// it means the parent is gone, however it died (Ctrl-C, kill -9, a crash).
export function exitWithParent(): void {
  (async () => {
    const reader = Deno.stdin.readable.getReader();
    try {
      while (!(await reader.read()).done) { /* nothing is ever sent */ }
    } catch { /* a closed pipe reads as an error on some platforms */ }
    Deno.exit(0);
  })();
}

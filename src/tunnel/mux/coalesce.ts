/**
 * Turns the pieces pulled from the core (12-byte headers, small control frames, body views) into
 * channel writes: runs of small pieces are copied into one buffer so a transport that frames or
 * encrypts every write does not see a write per header; large bodies go out as they are.
 */
export function coalesce(pieces: Buffer[], below: number, out: Buffer[] = []): Buffer[] {
  let runStart = 0;
  let runBytes = 0;
  const flushRun = (end: number) => {
    if (end - runStart === 1) out.push(pieces[runStart]);
    else if (end > runStart) out.push(Buffer.concat(pieces.slice(runStart, end), runBytes));
    runBytes = 0;
  };
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i];
    if (p.length >= below) {
      flushRun(i);
      out.push(p);
      runStart = i + 1;
    } else {
      runBytes += p.length;
    }
  }
  flushRun(pieces.length);
  return out;
}

/** Runs async critical sections one at a time, in call order (within this process only). */
export class AsyncMutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    // The queue never rejects: one failed section does not stop the next.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/** What an emulator received and answered, in order, for tests to assert on. Never holds credentials. */
export class RequestLog<Entry> {
  private readonly recorded: Entry[] = [];

  record(entry: Entry): void {
    this.recorded.push(entry);
  }

  get entries(): readonly Entry[] {
    return this.recorded;
  }

  filter(predicate: (entry: Entry) => boolean): Entry[] {
    return this.recorded.filter(predicate);
  }

  clear(): void {
    this.recorded.length = 0;
  }
}

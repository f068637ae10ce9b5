/** `index` of a result: where the layer's newest versions are published for readers, and what this decision did to it. */
export interface IndexOutcome {
  key: string;
  listing: string;
  /** `written`: this decision moved the index forward; `current`: it already named these versions or newer ones. */
  status: 'written' | 'current' | 'failed';
  /** The versions this decision names, by region. */
  versions: Record<string, number>;
  error?: string;
}

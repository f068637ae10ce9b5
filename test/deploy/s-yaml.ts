import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

/** The statements of a RAM policy document, as scripts/deploy-policies.mjs writes them. */
export interface PolicyDocument {
  Version: string;
  Statement: Array<{ Effect: string; Action: string[]; Resource: string[] }>;
}

export interface DeployValues {
  region: string;
  bucket: string;
  prefix: string;
  auditPrefix: string;
  fcApiVersion: string;
  failureDestination: string;
  logProject: string;
  logStore: string;
  /** REGIONS of s.yaml: the other regions and their staging buckets. */
  regions: Array<{ region: string; bucket: string }>;
  eventMaxAgeSeconds: number;
}

/** scripts/deploy-policies.mjs, which turns s.yaml into the role's documents. */
export interface PoliciesScript {
  resolveReferences(value: unknown, context: { vars: Record<string, unknown>; accountId: string }, path: string): unknown;
  deployValues(sYaml: unknown): DeployValues;
  ramPolicy(values: DeployValues): PolicyDocument;
  stagingLifecycle(values: DeployValues): string;
  policyFiles(sYamlText: string): Record<string, string>;
}

export const POLICIES_SCRIPT = resolve('scripts/deploy-policies.mjs');

export const loadPoliciesScript = async () => (await import(POLICIES_SCRIPT)) as PoliciesScript;

export const S_YAML_TEXT = readFileSync('s.yaml', 'utf8');

/** A fresh parse of s.yaml each time, so a test may change its copy. */
// any: s.yaml is free-form YAML, and checking its shape is what the tests are for.
export const readSYaml = (): any => parse(S_YAML_TEXT);

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

/** s.yaml's vars: strings all, each `${vars.x}` of the file one of them. */
export type SYamlVars = Record<
  'region' | 'bucket' | 'prefix' | 'auditPrefix' | 'functionName' | 'roleName' | 'failureQueue' | 'logProject' | 'logStore' | 'regions',
  string
>;

export interface SYamlLogConfig {
  project: string;
  logstore: string;
}

export interface SYamlTrigger {
  triggerName: string;
  triggerType: string;
  sourceArn: string;
  qualifier: string;
  triggerConfig: { events: string[]; filter: { key: { prefix: string; suffix: string } } };
}

/** The fc3 props of the publisher, as s.yaml writes them; `logConfig: auto` is fc3's too. */
export interface SYamlProps {
  region: string;
  functionName: string;
  description: string;
  runtime: string;
  handler: string;
  code: string;
  cpu: number;
  memorySize: number;
  diskSize: number;
  timeout: number;
  role: string;
  logConfig: SYamlLogConfig | 'auto';
  environmentVariables: Record<string, string>;
  asyncInvokeConfig: {
    maxAsyncRetryAttempts: number;
    maxAsyncEventAgeInSeconds: number;
    destinationConfig: { onFailure: { destination: string } };
  };
  triggers: SYamlTrigger[];
}

/**
 * s.yaml as the repository writes it, its `${…}` references as written or resolved. The tests check
 * that it is so (the schema, the policies): this type only names what they read and change.
 */
export interface SYaml {
  edition: string;
  name: string;
  access: string;
  vars: SYamlVars;
  resources: {
    publisher: {
      component: string;
      /** Serverless Devs hooks by name (`pre-deploy`), each a list of commands. */
      actions: Record<string, Array<{ run: string; path?: string }>>;
      props: SYamlProps;
    };
  };
}

/** A fresh parse of s.yaml each time, so a test may change its copy. */
export const readSYaml = (): SYaml => parse(S_YAML_TEXT);

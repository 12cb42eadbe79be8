import type { ValidateFunction } from 'ajv'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { AgentFolders } from './lend.js'
import type { AgentIdentity } from './isolation.js'

export const OUTPUT_SCHEMA_FILE = 'output-schema.json'

/** What the agent's final message said, read against `output-schema`: the JSON when it matches, the reasons when it does not. */
export interface StructuredOutput {
  value?: unknown
  errors?: string[]
}

/**
 * The schema compiled, or an Error saying why it is not a JSON Schema the validator accepts. The
 * validator loads only for a run that has a schema: it is a tenth of the bundle's start-up.
 */
export async function compileOutputSchema(schema: object): Promise<ValidateFunction> {
  const dialect = (schema as { $schema?: unknown }).$schema
  // Codex passes the schema to the model as is; the model's endpoint, not this check, decides which keywords it supports.
  const ajv =
    typeof dialect === 'string' && dialect.includes('2020-12')
      ? new (await import('ajv/dist/2020.js')).Ajv2020({ allErrors: true, strict: false })
      : new (await import('ajv')).Ajv({ allErrors: true, strict: false })
  return ajv.compile(schema)
}

/**
 * Puts the schema where Codex reads it and the agent cannot swap it: with a separate agent user, a root-owned file in
 * the agent's root-owned folder (readable, not replaceable); as the runner user, the action's own folder for the agent.
 * Returns its path; nothing without a schema.
 */
export async function placeOutputSchema(schema: object | undefined, identity: Pick<AgentIdentity, 'privilege'>, folders: AgentFolders, runRoot: string): Promise<string | undefined> {
  if (!schema) return undefined
  const text = JSON.stringify(schema, null, 2) + '\n'
  const destination = path.join(folders.root, OUTPUT_SCHEMA_FILE)
  if (!folders.workspaceMount || !identity.privilege) {
    await writeFile(destination, text, { mode: 0o600, flag: 'wx' })
    return destination
  }
  const source = path.join(runRoot, OUTPUT_SCHEMA_FILE)
  await writeFile(source, text, { mode: 0o600, flag: 'wx' })
  await identity.privilege.asRoot('install', ['-m', '0644', '-o', '0', '-g', '0', source, destination])
  return destination
}

/** Reads the final message as JSON and checks it against the schema. */
export async function readStructuredOutput(schema: object, finalMessage: string): Promise<StructuredOutput> {
  let value: unknown
  try {
    value = JSON.parse(finalMessage)
  } catch (error) {
    return { errors: [`the final message is not JSON (${(error as Error).message})`] }
  }
  const validate = await compileOutputSchema(schema)
  if (validate(value)) return { value }
  return { errors: (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'does not match'}${error.keyword === 'additionalProperties' ? ` ('${String(error.params.additionalProperty)}')` : ''}`) }
}

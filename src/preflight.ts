import * as core from '@actions/core'
import type { HttpClientResponse } from '@actions/http-client'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Settings } from './inputs.js'
import { endpointClient, endpointHeaders, endpointUrl } from './model-proxy.js'
import { Redactor } from './redact.js'

const ATTEMPT_TIMEOUT_MS = 5_000
// Three tries in about ten seconds at most: a passing hiccup is waited out, an outage is only warned about.
const RETRY_DELAYS_MS = [500, 1_500]
const ENDPOINT_MESSAGE_CHARS = 500
const CONFIGURATION_ERRORS = new Set(['ENOTFOUND', 'ECONNREFUSED', 'EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'])

type Attempt = { done: true } | { retry: string }

/**
 * One cheap authenticated request (the model list; a second one when the list is refused) to `base-url` with the key,
 * through the model proxy's own client, before anything is installed: a wrong key, URL or model fails in a second, naming the input, instead of after Codex
 * has retried for many. An endpoint that is down or slow is only warned about; the run goes on.
 */
export async function checkEndpoint(settings: Pick<Settings, 'baseUrl' | 'apiKey' | 'model'>, attemptTimeoutMs = ATTEMPT_TIMEOUT_MS): Promise<void> {
  const redactor = new Redactor([settings.apiKey])
  const url = endpointUrl(settings.baseUrl, '/models')
  const client = endpointClient(attemptTimeoutMs)
  try {
    for (let attempt = 0; ; attempt++) {
      const result = await listModels(client, url, settings, redactor)
      if ('done' in result) return
      if (attempt >= RETRY_DELAYS_MS.length) {
        core.warning(redactor.redact(`The model endpoint did not answer the preflight check (GET ${url}): ${result.retry}. Going on; Codex will try it again.`))
        return
      }
      await sleep(RETRY_DELAYS_MS[attempt])
    }
  } finally {
    client.dispose()
  }
}

async function listModels(client: ReturnType<typeof endpointClient>, url: string, settings: Pick<Settings, 'baseUrl' | 'apiKey' | 'model'>, redactor: Redactor): Promise<Attempt> {
  const fail = (message: string): never => {
    throw new Error(redactor.redact(message))
  }
  let response: HttpClientResponse
  let body: string
  try {
    response = await client.get(url, { ...endpointHeaders(settings.baseUrl, settings.apiKey), accept: 'application/json' })
    body = await response.readBody()
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') fail(`Input 'base-url' names the host '${new URL(url).hostname}', which could not be resolved (${code}). Check 'base-url'.`)
    if (code === 'ECONNREFUSED') fail(`Input 'base-url' points to ${new URL(url).host}, where nothing accepts connections (${code}). Check 'base-url'.`)
    if (code && (CONFIGURATION_ERRORS.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))) {
      const reason = /wrong version number/.test(message) ? 'the server does not speak TLS there; is it plain http://?' : message.replace(/\s+/g, ' ').trim()
      fail(`Input 'base-url' (${settings.baseUrl}): the TLS connection failed (${code}: ${reason}). Check that 'base-url' is the endpoint's https:// address, and its certificate.`)
    }
    return { retry: code ?? message }
  }
  const status = response.message.statusCode ?? 0
  const said = endpointMessage(body)
  if (status >= 200 && status < 300) {
    checkModel(body, settings, url, fail)
    return { done: true }
  }
  if (status === 401 || status === 403) {
    const refused = `The model endpoint refused 'openai-api-key': HTTP ${status} for GET ${url}${said}. Check that the secret holds a valid key for this endpoint (and 'base-url').`
    const probe = await askResponses(client, settings)
    if (probe.status === 400 || probe.status === 422) {
      core.warning(redactor.redact(`The key cannot list models (HTTP ${status} for GET ${url}${said}), so 'model' was not checked; POST ${probe.url} accepted the key (HTTP ${probe.status} to a request without a model, nothing generated). Going on.`))
      return { done: true }
    }
    if (probe.status === 401 || probe.status === 403) fail(`${refused} The check with POST ${probe.url} was refused too (HTTP ${probe.status}).`)
    fail(`${refused} The check with POST ${probe.url} did not accept it either (${probe.error ?? `HTTP ${probe.status}`}).`)
  }
  if (status === 404) fail(`Input 'base-url' (${settings.baseUrl}) is not a model API root: HTTP 404 for GET ${url}${said}. Expected the address that /responses and /models are under, such as https://api.openai.com/v1.`)
  if (status >= 300 && status < 400) {
    const location = response.message.headers.location
    fail(`Input 'base-url' (${settings.baseUrl}) answered HTTP ${status}, a redirect${location ? ` to ${originOf(location, url)}` : ''}, which the action does not follow with the key. Set 'base-url' to the endpoint's own address.`)
  }
  if (status === 429 || status >= 500) return { retry: `HTTP ${status}${said}` }
  // Some gateways serve only /responses: any other answer says nothing about the key.
  core.warning(redactor.redact(`The model endpoint answered HTTP ${status} to the preflight check (GET ${url})${said}; the key could not be checked. Going on.`))
  return { done: true }
}

/**
 * A restricted key may use the Responses API without the right to list models (OpenAI: "Missing scopes: api.model.read"),
 * so a refused listing alone does not show a wrong key. `POST <base-url>/responses` with an empty body tells the two
 * apart: the endpoint checks the key first, then refuses the body for its missing model (400), generating nothing.
 * One try, with the listing's client: the same time limit, no redirect followed.
 */
async function askResponses(client: ReturnType<typeof endpointClient>, settings: Pick<Settings, 'baseUrl' | 'apiKey'>): Promise<{ url: string; status?: number; error?: string }> {
  const url = endpointUrl(settings.baseUrl, '/responses')
  try {
    const response = await client.post(url, '{}', { ...endpointHeaders(settings.baseUrl, settings.apiKey), 'content-type': 'application/json', accept: 'application/json' })
    await response.readBody()
    return { url, status: response.message.statusCode ?? 0 }
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException
    return { url, error: code ?? message }
  }
}

/** Where the endpoint lists its models and `model` is not among them, the run would fail at its first request. */
function checkModel(body: string, settings: Pick<Settings, 'baseUrl' | 'model'>, url: string, fail: (message: string) => never): void {
  const model = settings.model
  // Azure lists its base models, while `model` there names a deployment.
  if (!model || new URL(settings.baseUrl).hostname.endsWith('.azure.com')) return
  let ids: unknown[]
  try {
    ids = (JSON.parse(body) as { data?: Array<{ id?: unknown }> }).data?.map((entry) => entry?.id) ?? []
  } catch {
    return
  }
  if (!ids.length || !ids.every((id) => typeof id === 'string')) return
  // Local servers (Ollama) list a model with its tag and accept it without (`llama3` for `llama3:latest`).
  if ((ids as string[]).some((id) => id === model || id.startsWith(`${model}:`) || id.split(':')[0] === model.split(':')[0] && model.endsWith(':latest'))) return
  const near = (ids as string[]).filter((id) => id.startsWith(model.split('-')[0])).slice(0, 10)
  fail(`Input 'model' is '${model}', which the endpoint does not list (GET ${url}: ${ids.length} models${near.length ? `, such as ${near.join(', ')}` : ''}). Expected a model the key can use at 'base-url'.`)
}

/** The endpoint's own words, on one line and short: `error.message` of an OpenAI-style error, else the start of the body. */
function endpointMessage(body: string): string {
  let text = body
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown }
    const message = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message)
    if (typeof message === 'string') text = message
  } catch {
    // Not JSON: the body as it came.
  }
  text = text.replace(/\s+/g, ' ').trim()
  if (!text) return ''
  return `: "${text.length > ENDPOINT_MESSAGE_CHARS ? `${text.slice(0, ENDPOINT_MESSAGE_CHARS)}…` : text}"`
}

function originOf(location: string, base: string): string {
  try {
    return new URL(location, base).origin
  } catch {
    return 'an address that is not a URL'
  }
}

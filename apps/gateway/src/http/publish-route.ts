/**
 * `POST /v1/publish`: append and announce one message or a batch. The body
 * is read as bytes and decoded as strict UTF-8 (invalid bytes are a 400, not
 * silently replaced), parsed, validated, then handed to the broker. Each message's
 * data is passed on as the publisher wrote it (see publish-body.ts).
 *
 * A broker failure is a 503 (nothing was published, or, if Redis timed out, maybe it
 * was: an idempotency key makes the retry safe), and is logged. A message Redis's
 * functions refuse is the caller's fault and a 400, like the validation it backs up.
 */

import { PublishError } from '@herald/publisher'
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { HeraldError } from '../errors/herald-error.js'
import { parsePublishBody } from './publish-body.js'
import type { GatewayServices } from './services.js'

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

export function publishBodyLimit(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      // The rest of the body is not read, so the connection cannot carry another request: say
      // so, rather than answer keep-alive and close it under a client that would reuse it.
      c.header('Connection', 'close')
      throw new HeraldError('HERALD_ERR_BODY_TOO_LARGE', `body is larger than ${maxBytes} bytes`)
    },
  })
}

/** Shared by `/v1/publish` and the dev-only `/dev/publish`. */
/** Refuses a body not sent as JSON with 415, before it is read. */
export function requireJsonBody(c: Context): void {
  const type = c.req.header('content-type') ?? ''
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new HeraldError('HERALD_ERR_MEDIA_TYPE', 'send the body as Content-Type: application/json')
  }
  // The body is read as UTF-8, as JSON must be (RFC 8259): another charset would be misread.
  // Every one a header names is checked, since recipients disagree on which of two counts.
  for (const [, charset = ''] of type.matchAll(/;\s*charset\s*=\s*"?([^";\s]*)"?/gi)) {
    if (!/^utf-?8$/i.test(charset)) {
      throw new HeraldError(
        'HERALD_ERR_MEDIA_TYPE',
        `send the body as UTF-8: charset ${JSON.stringify(charset)} is not supported`,
      )
    }
  }
}

/** The body as strict UTF-8: invalid bytes are a 400 saying so, not text with U+FFFD in it. */
export async function readUtf8Body(c: Context): Promise<string> {
  // Read, then decode: a read that fails (the client went away mid-body) is not invalid UTF-8.
  const bytes = await c.req.arrayBuffer()
  try {
    return strictUtf8.decode(bytes)
  } catch {
    throw new HeraldError('HERALD_ERR_BODY_INVALID', 'body: is not valid UTF-8')
  }
}

export async function handlePublish(c: Context, services: GatewayServices): Promise<Response> {
  requireJsonBody(c)
  // A compressed body would otherwise be read as text, and refused as invalid UTF-8.
  const encoding = c.req.header('content-encoding')
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new HeraldError(
      'HERALD_ERR_MEDIA_TYPE',
      `send the body uncompressed: Content-Encoding ${JSON.stringify(encoding)} is not supported`,
    )
  }
  // Node takes `Transfer-Encoding: gzip, chunked`, de-chunks it and hands over the gzip bytes.
  const transfer = c.req.header('transfer-encoding')
  if (transfer?.split(',').some((coding) => !/^\s*(chunked|identity)\s*$/i.test(coding))) {
    throw new HeraldError(
      'HERALD_ERR_MEDIA_TYPE',
      `send the body uncompressed: Transfer-Encoding ${transfer} is not supported (chunked is)`,
    )
  }
  const { requests, batch } = parsePublishBody(await readUtf8Body(c))
  if (!services.broker.canPublish()) {
    services.metrics.publishFailed('broker_unavailable', requests.length)
    throw new HeraldError('HERALD_ERR_BROKER_UNAVAILABLE', 'the broker is unavailable; nothing was published')
  }
  let ids: string[]
  try {
    ids = await services.broker.publish(requests)
  } catch (error) {
    if (error instanceof PublishError && error.code === 'HERALD_ERR_NOT_REPLICATED') {
      // Stored and announced: published, only not confirmed by replicas.
      services.metrics.published(requests.length)
      services.metrics.publishFailed('not_replicated', requests.length)
      throw new HeraldError(
        'HERALD_ERR_NOT_REPLICATED',
        'stored, but too few replicas confirmed it in time, so a failover could lose it: retry with the same idempotencyKey',
        { cause: error },
      )
    }
    if (error instanceof PublishError && error.code === 'HERALD_ERR_INVALID') {
      throw new HeraldError('HERALD_ERR_BODY_INVALID', `the broker refused a message: ${error.message}`, {
        cause: error,
      })
    }
    services.metrics.publishFailed('broker_unavailable', requests.length)
    // The message only: a Redis reply error carries the command, and with it the payloads.
    if (services.brokerFailureLog.take())
      services.logger.warn(
        { err: error instanceof Error ? error.message : String(error), messages: requests.length },
        'publish failed: the broker did not accept it',
      )
    if (error instanceof HeraldError) throw error
    // Redis keeps what a function wrote before it failed, and a batch may fail part way: say so,
    // so that a retry carries the same idempotency keys instead of publishing anything twice.
    throw new HeraldError(
      'HERALD_ERR_BROKER_UNAVAILABLE',
      'the broker failed the publish, and part of it may be stored: retry with the same idempotencyKey',
      { cause: error },
    )
  }
  services.metrics.published(ids.length)
  return batch ? c.json({ ids }) : c.json({ id: ids[0] })
}

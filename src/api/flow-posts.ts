/**
 * Flow-script posts (POST /v1/connectors/:id/flow-posts/:name): a platform flow script's small
 * JSON body, mapped by the connector's `flow_posts:` onto session events and handed to the
 * session engine, with the same input bounds as the events route (src/api/sessions.ts).
 */
import express, { Router } from 'express';
import { lenientJson, normalizeEvent } from '../flows/events';
import { GatewayError, isGatewayError } from '../errors';
import type { EventOutcome, FlowEngine } from '../flows/engine';
import { translateFlowPost } from '../flows/flow-posts';
import type { Gateway } from '../gateway';
import { checkHeaderVariables } from './header-values';
import { checkUrlVariables } from './url-values';
import { checkJsonShape, checkWellFormed } from './input-bounds';

export function flowPostRoutes(flows: FlowEngine, limit: string, gw: Gateway): Router {
  const r = Router({ caseSensitive: true, strict: true });
  r.post('/v1/connectors/:id/flow-posts/:name', express.text({ type: () => true, limit }), async (req, res) => {
    const connectorId = String(req.params.id);
    const c = gw.connector(connectorId);
    const name = String(req.params.name);
    const mapping = c.flowPosts.get(name);
    if (!mapping) {
      const known = [...c.flowPosts.keys()];
      throw new GatewayError(
        'not_found',
        `connector ${connectorId} has no flow post "${name.slice(0, 64)}"; known: ${known.length ? known.join(', ') : 'none (add flow_posts: to the connector)'}`,
      );
    }
    const text = typeof req.body === 'string' ? req.body : '';
    checkJsonShape(text);
    const post = lenientJson(text || '{}');
    checkWellFormed(post, '');
    const translated = translateFlowPost(mapping, post);
    // Checked for every event before the first is applied: a post is taken whole or not at all.
    for (const e of translated.events) {
      const vars = { ...normalizeEvent(e.body).vars, ...e.vars };
      checkHeaderVariables(c, undefined, vars, '');
      checkUrlVariables(c, undefined, vars, '');
    }
    let outcome: EventOutcome | undefined;
    let duplicate = true;
    for (const e of translated.events) {
      outcome = await flows.handle(connectorId, translated.sessionId, e.body, undefined, e.vars).catch((err: unknown) => {
        if (isGatewayError(err)) throw err;
        throw new GatewayError(
          'store_unavailable',
          'the post could not be stored; send it again (what was already accepted is not repeated)',
          {},
          { cause: err },
        );
      });
      duplicate &&= outcome.duplicate;
    }
    res.status(duplicate ? 200 : 202).json({ duplicate, session: outcome!.session });
  });
  return r;
}

// GET and POST /api/definitions[/vhost]: the broker's definitions in RabbitMQ's definitions.json schema.
import { DefinitionsError, exportDefinitions, importDefinitions } from '../broker/definitions-file.js';
import { badRequest } from './errors.js';
import { NO_CONTENT, bodyObject, ok, vhostParam, type AddRoute } from './handlers.js';

export function registerDefinitionRoutes(add: AddRoute): void {
  add('GET', '/api/definitions', 'admin', (_req, ctx) => ok(exportDefinitions(ctx.broker, ctx.node.version)));
  add('GET', '/api/definitions/:vhost', 'admin', (req, ctx) => ok(exportDefinitions(ctx.broker, ctx.node.version, vhostParam(ctx, req).name)));
  const post = (vhost: string | undefined) => (req: Parameters<Parameters<AddRoute>[3]>[0], ctx: Parameters<Parameters<AddRoute>[3]>[1]) => {
    if (vhost !== undefined) vhostParam(ctx, req);
    const body = bodyObject(req, 'failed_to_parse_json');
    try {
      importDefinitions(ctx.broker, body, { vhost: vhost === undefined ? undefined : req.params.vhost, user: req.user.name });
      ctx.logger.info({ user: req.user.name, vhost: vhost === undefined ? undefined : req.params.vhost }, 'definitions imported over the management API');
    } catch (err) {
      if (err instanceof DefinitionsError) throw badRequest(err.message);
      throw err;
    }
    return NO_CONTENT;
  };
  add('POST', '/api/definitions', 'admin', post(undefined));
  add('POST', '/api/definitions/:vhost', 'admin', post(''));
}

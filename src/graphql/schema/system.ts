import { builder } from '../builder.ts';

interface ProjectionStatusView {
  name: string;
  state: string;
  position: bigint;
  lagEvents: number;
  lagSeconds: number;
  lastError: string | null;
  failedEventId: string | null;
  failedPosition: bigint | null;
}

export const ProjectionStatus = builder.objectRef<ProjectionStatusView>('ProjectionStatus').implement({
  description: 'How far a read model has caught up with the event log',
  fields: (t) => ({
    name: t.exposeString('name'),
    state: t.exposeString('state'),
    position: t.string({ description: 'Last applied log position', resolve: (s) => s.position.toString() }),
    lagEvents: t.exposeInt('lagEvents'),
    lagSeconds: t.exposeFloat('lagSeconds'),
    lastError: t.exposeString('lastError', { nullable: true }),
    failedEventId: t.id({ nullable: true, description: 'The event it is stopped at, when failed (see parkProjectionEvent)', resolve: (s) => s.failedEventId }),
    failedPosition: t.string({ nullable: true, resolve: (s) => s.failedPosition?.toString() ?? null }),
  }),
});

builder.queryFields((t) => ({
  health: t.string({ description: 'Always "ok" when the API answers', resolve: () => 'ok' }),
  projections: t.field({
    type: [ProjectionStatus],
    description: 'Status of every projection (admins only)',
    authScopes: { admin: true },
    resolve: (_root, _args, context) => context.services.projections.status(),
  }),
}));

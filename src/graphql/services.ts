import type { App } from '../app.ts';

/** What resolvers may use: the composed application. Queries read only its read models. */
export type Services = App;

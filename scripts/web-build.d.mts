export const ROOT: string;
export const DIST: string;
export function sourcesHash(): string;
export function webBuildIsFresh(): boolean;
export function buildWeb(): Promise<string>;

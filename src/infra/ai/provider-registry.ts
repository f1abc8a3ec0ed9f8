// The set of configured chat providers: merges their model lists (cached) and finds the provider that
// serves a model. A model id may be prefixed with a provider id ('ollama/llama3.2') to force that provider;
// ids that merely contain a slash ('meta-llama/Llama-3.1-8B' on OpenRouter) are looked up as they are.
import { ProviderError } from './provider.ts';
import type { ChatProvider, ModelInfo } from './provider.ts';

/** A miss re-lists the models only if the cached listing is at least this old (no hammering on typos). */
const MISS_REFRESH_MIN_AGE_MS = 1000;

export interface ProviderRegistryOptions {
  /** How long a model listing is reused. Default 60000. */
  modelCacheMs?: number;
  /** Model used when a request names none. */
  defaultModel?: string;
  /** Clock, for tests. */
  now?: () => number;
}

export interface ProviderListError { provider: string; message: string }
export interface ModelListing { models: ModelInfo[]; errors: ProviderListError[] }
export interface ResolvedModel {
  provider: ChatProvider;
  /** The id to send to that provider: the requested id without a forcing 'providerId/' prefix. */
  model: string;
}

export class ProviderRegistry {
  readonly providers: readonly ChatProvider[];
  readonly defaultModel: string | null;
  readonly #modelCacheMs: number;
  readonly #now: () => number;
  #cache: { at: number; listing: ModelListing } | null = null;
  #inFlight: Promise<ModelListing> | null = null;
  #generation = 0;

  constructor(providers: ChatProvider[], options: ProviderRegistryOptions = {}) {
    const ids = new Set<string>();
    for (const provider of providers) {
      if (ids.has(provider.id)) throw new Error(`Duplicate AI provider id "${provider.id}"`);
      ids.add(provider.id);
    }
    this.providers = [...providers];
    this.defaultModel = options.defaultModel || null;
    this.#modelCacheMs = options.modelCacheMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  get isConfigured(): boolean {
    return this.providers.length > 0;
  }

  provider(id: string): ChatProvider | undefined {
    return this.providers.find((provider) => provider.id === id);
  }

  /**
   * Every provider's models, in provider order. A provider that fails to answer is left out and reported in
   * `errors`. The listing is cached for modelCacheMs; concurrent callers share one round of requests.
   */
  async listModels(options: { refresh?: boolean } = {}): Promise<ModelListing> {
    if (!options.refresh && this.#cache && this.#now() - this.#cache.at < this.#modelCacheMs) return this.#cache.listing;
    this.#inFlight ??= this.#fetchAll().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  /** Forgets the cached listing (a provider's key changed): the next call asks the providers again. */
  invalidate(): void {
    this.#cache = null;
  }

  /** The provider serving `model` (or the default model). */
  async resolve(model?: string): Promise<ChatProvider> {
    return (await this.resolveModel(model)).provider;
  }

  /**
   * The provider serving `model` and the id to send it. Without a model, the default model is used, or else
   * the first model listed. A model missing from a cached listing (older than a second) triggers one fresh
   * listing before MODEL_NOT_FOUND, so a model pulled a moment ago is found. A model not found while a
   * provider could not be listed is PROVIDER_UNAVAILABLE.
   */
  async resolveModel(model?: string): Promise<ResolvedModel> {
    if (!this.isConfigured) throw new ProviderError('PROVIDER_NOT_CONFIGURED', 'No AI provider is configured');
    const wanted = model || this.defaultModel;
    const generation = this.#generation;
    let listing = await this.listModels();
    let found = wanted ? this.#find(wanted, listing) : this.#first(listing);
    const age = this.#cache ? this.#now() - this.#cache.at : 0;
    if (!found && generation === this.#generation && age >= MISS_REFRESH_MIN_AGE_MS) {
      listing = await this.listModels({ refresh: true });
      found = wanted ? this.#find(wanted, listing) : this.#first(listing);
    }
    if (found) return found;
    if (listing.errors.length > 0) {
      // A provider that could not be asked may well offer the model: that is an outage, not a typo.
      const unreachable = listing.errors.map((e) => e.provider).join(', ');
      throw new ProviderError('PROVIDER_UNAVAILABLE', wanted
        ? `Model "${wanted}" cannot be checked: AI provider ${unreachable} cannot be reached (${listing.errors[0]!.message})`
        : `No model given, no default model configured, and AI provider ${unreachable} cannot be reached (${listing.errors[0]!.message})`);
    }
    throw new ProviderError('MODEL_NOT_FOUND', wanted
      ? `Model "${wanted}" is not offered by any configured AI provider`
      : 'No model given, no default model configured, and no provider lists any model');
  }

  async #fetchAll(): Promise<ModelListing> {
    const results = await Promise.allSettled(this.providers.map((provider) => provider.listModels()));
    const listing: ModelListing = { models: [], errors: [] };
    results.forEach((result, index) => {
      const provider = this.providers[index]!;
      if (result.status === 'fulfilled') listing.models.push(...result.value);
      else listing.errors.push({ provider: provider.id, message: result.reason instanceof Error ? result.reason.message : String(result.reason) });
    });
    this.#cache = { at: this.#now(), listing };
    this.#generation++;
    return listing;
  }

  #find(wanted: string, listing: ModelListing): ResolvedModel | null {
    const slash = wanted.indexOf('/');
    if (slash > 0) {
      const forced = this.provider(wanted.slice(0, slash));
      const rest = wanted.slice(slash + 1);
      if (forced && rest !== '') {
        const listed = listing.models.some((m) => m.provider === forced.id && m.id === rest);
        const unlisted = listing.errors.some((e) => e.provider === forced.id);
        // Forced onto a provider whose list we could not read: let the provider itself decide.
        if (listed || unlisted) return { provider: forced, model: rest };
      }
    }
    const match = listing.models.find((m) => m.id === wanted);
    const provider = match && this.provider(match.provider);
    return provider ? { provider, model: wanted } : null;
  }

  #first(listing: ModelListing): ResolvedModel | null {
    const first = listing.models[0];
    const provider = first && this.provider(first.provider);
    return first && provider ? { provider, model: first.id } : null;
  }
}

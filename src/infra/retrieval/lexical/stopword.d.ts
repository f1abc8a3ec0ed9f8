// `stopword` ships no type declarations; only the English list is used.
declare module 'stopword' {
  export const eng: readonly string[];
}

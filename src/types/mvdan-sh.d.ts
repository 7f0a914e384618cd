/** mvdan-sh ships GopherJS output without types; shellParse.ts is its only user and reads it as `any`. */
declare module 'mvdan-sh' {
  const sh: { readonly syntax: unknown };
  export default sh;
}

/**
 * Symbol normalisation and validation (DESIGN §3): trimmed, upper-cased, then matched
 * against one pattern. Pure; the wire decoder and the CLI both call it.
 */
export const SYMBOL_PATTERN = /^[A-Z0-9][A-Z0-9.\-]{0,14}$/

export const normaliseSymbol = (raw: string): string => raw.trim().toUpperCase()

export const isValidSymbol = (symbol: string): boolean => SYMBOL_PATTERN.test(symbol)

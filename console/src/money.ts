// Prices arrive as exact decimal strings (USD per token). Scaling is done on the digits, never with
// floating point, so the console shows exactly the price the gateway charges.

/** USD per token as USD per million tokens, at least two decimals: "0.0000005" -> "0.50". */
export function perMillion(usdPerToken: string): string {
  const [whole, fraction = ''] = usdPerToken.split('.');
  const digits = fraction.padEnd(6, '0');
  const units = `${whole}${digits.slice(0, 6)}`.replace(/^0+(?=\d)/, '');
  const cents = digits.slice(6).replace(/0+$/, '').padEnd(2, '0');
  return `${units.replace(/\B(?=(\d{3})+$)/g, ',')}.${cents}`;
}

/** USD per million tokens as USD per token, exactly: "0.50" -> "0.0000005"; null when it is not a price. */
export function perToken(usdPerMillion: string): string | null {
  const text = usdPerMillion.replace(/,/g, '').trim();
  if (!/^\d+(\.\d+)?$/.test(text)) return null;
  const [whole, fraction = ''] = text.split('.');
  const padded = whole.padStart(7, '0');   // six digits move behind the point, one stays before it
  const integer = padded.slice(0, -6).replace(/^0+(?=\d)/, '');
  const decimals = `${padded.slice(-6)}${fraction}`.replace(/0+$/, '');
  return decimals ? `${integer}.${decimals}` : integer;
}

/** A USD amount as shown next to a price: "$0.50". */
export function usd(amount: string): string {
  return `$${amount}`;
}

/** A USD amount with at least two decimals and no trailing zeros beyond them: "1.500000" -> "$1.50",
 * "-0.0000185" -> "-$0.0000185". */
export function usdAmount(amount: string): string {
  const sign = amount.startsWith('-') ? '-' : '';
  const [whole, fraction = ''] = amount.replace(/^[-+]/, '').split('.');
  return `${sign}$${whole}.${fraction.replace(/0+$/, '').padEnd(2, '0')}`;
}

/** A USD amount for an input field: usdAmount without the sign and the dollar, "3.000000" -> "3.00". */
export function plainUsd(amount: string): string {
  return usdAmount(amount).replace('$', '');
}

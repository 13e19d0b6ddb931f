// The billing actions' API shapes (docs/management-api.md, "Your account's billing").

export interface AutoTopUp {
  enabled: boolean;
  threshold_usd: string;
  amount_usd: string;
  tax_usd: string;
  total_usd: string;
  card_saved: boolean;
  switched_off_because: string | null;
  card_payments_enabled: boolean;
  minimum_usd: string;
}

export interface Checkout {
  payment_id: string;
  checkout_url: string;
  amount_usd: string;
  tax_usd: string;
  total_usd: string;
}

export interface Redeemed {
  amount_usd: string;
  balance_usd: string;
}

export interface Alert {
  low_balance_usd: string | null;
  email: string;
  outstanding: boolean;
  triggered_at: string | null;
  notified_at: string | null;
  email_enabled: boolean;
}

export interface Payment {
  id: string;
  kind: string;
  status: string;
  receipt_number: string | null;
  amount_usd: string;
  tax_usd: string;
  total_usd: string;
  currency: string;
  failure_message: string | null;
  created_at: string;
  paid_at: string | null;
}

export interface Payments {
  data: Payment[];
  billing_hold: { code: string; reason: string | null; since: string } | null;
}

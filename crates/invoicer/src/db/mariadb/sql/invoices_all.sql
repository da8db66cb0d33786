-- Every invoice's id, status and charge id, for the audit.
SELECT id, status, provider_charge_id FROM invoices ORDER BY id

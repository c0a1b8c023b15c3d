-- An attribution's lines move onto its row as one JSON text value, as CRM keeps a sale's lines
-- (crm 0004_lean_rows): [[line_id, sku, qty, net_amount_minor, eligible, basis_minor,
-- amount_minor, returned_qty, clawed_back_minor], ...] in order. A sale then writes one row
-- instead of one plus one per line: without the line rows the SCM consumer's PostgreSQL CPU per
-- sale fell ~6 µs and its own ~2 µs (bench/solo_cpu.py, 30,000 two-line sales). Returns (much
-- rarer) rewrite the value; the fill factor leaves room on the page for that to be a HOT update.
-- The per-line invariants (returned <= qty, clawed back <= amount, basis <= net, ineligible lines
-- earn nothing) are kept by the domain code under the earning's row lock, which guards the
-- attribution and its lines, and by the earning's own CHECKs on its totals.
ALTER TABLE ifm_attributions SET (fillfactor = 90);
ALTER TABLE ifm_attributions ADD COLUMN lines text NOT NULL DEFAULT '[]';
UPDATE ifm_attributions a SET lines = l.lines
FROM (
    SELECT org_code, attribution_id,
           json_agg(json_build_array(line_id, sku, qty, net_amount_minor, eligible, basis_minor,
                                     amount_minor, returned_qty, clawed_back_minor)
                    ORDER BY position)::text AS lines
    FROM ifm_attribution_lines GROUP BY org_code, attribution_id
) l
WHERE a.org_code = l.org_code AND a.attribution_id = l.attribution_id;
DROP TABLE ifm_attribution_lines;

-- The SLA compliance report of `triage report sla`, in DuckDB SQL (docs/analytics.md).
-- Parameters: $file (JSON lines of analytics records), $from and $to (the window, opened in
-- [from, to)), $as_of (later records are ignored), $by ('team', 'severity', 'customer', 'month').
-- One row per group, then the total (grp NULL). Instants are UTC.
WITH lines AS (
    SELECT row_number() OVER () AS line, *
    FROM read_json($file, format = 'newline_delimited', columns = {
        event_id: 'VARCHAR', incident_id: 'VARCHAR', event_type: 'VARCHAR', occurred_at: 'VARCHAR',
        severity: 'VARCHAR', customer_account: 'VARCHAR', team: 'VARCHAR',
        first_response_business_minutes: 'DOUBLE', breached: 'BOOLEAN',
        waiting_on_customer_minutes: 'DOUBLE', outcome: 'VARCHAR',
        escalation_level: 'BIGINT', sla_target: 'VARCHAR'})
),
-- At-least-once: the first copy of each event id counts (records without an id all do).
records AS (
    SELECT *, occurred_at::TIMESTAMP AS t FROM lines
    QUALIFY event_id = '' OR row_number() OVER (PARTITION BY event_id ORDER BY line) = 1
),
known AS (SELECT * FROM records WHERE t <= $as_of::TIMESTAMP),
trail AS (
    SELECT incident_id,
           min(t) FILTER (WHERE event_type = 'opened') AS opened_at,
           coalesce(max(escalation_level) FILTER (WHERE event_type = 'escalated' AND sla_target = 'first_response'), 0) AS level,
           coalesce(bool_or(event_type = 'sla_warning' AND sla_target = 'first_response'), false) AS warned
    FROM known GROUP BY incident_id
),
latest AS (
    SELECT * FROM known
    QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY t DESC, line DESC) = 1
),
incidents AS (
    SELECT l.*, tr.opened_at, tr.level, tr.warned,
           CASE $by WHEN 'team' THEN l.team WHEN 'severity' THEN l.severity WHEN 'customer' THEN l.customer_account
                    ELSE strftime(tr.opened_at, '%Y-%m') END AS grp
    FROM latest l JOIN trail tr USING (incident_id)
    WHERE tr.opened_at >= $from::TIMESTAMP AND tr.opened_at < $to::TIMESTAMP
),
figures AS (
    SELECT grp, GROUPING(grp) AS is_total,
           count(*) AS opened,
           count(first_response_business_minutes) AS measured,
           count(first_response_business_minutes) FILTER (WHERE NOT breached) AS within_target,
           count(*) FILTER (WHERE breached) AS breached,
           count(*) FILTER (WHERE level >= 1) AS reached_level_1,
           count(*) FILTER (WHERE level >= 2) AS reached_level_2,
           count(*) FILTER (WHERE level >= 3) AS reached_level_3,
           list_sort(list(first_response_business_minutes) FILTER (WHERE first_response_business_minutes IS NOT NULL)) AS minutes,
           sum(waiting_on_customer_minutes) AS waiting_on_customer_minutes,
           avg(waiting_on_customer_minutes) AS mean_waiting_on_customer_minutes,
           count(*) FILTER (WHERE outcome = '' AND first_response_business_minutes IS NULL AND NOT breached AND warned) AS at_risk
    FROM incidents GROUP BY GROUPING SETS ((grp), ())
)
SELECT CASE WHEN is_total = 1 THEN NULL ELSE grp END AS grp, opened, measured, within_target,
       100.0 * within_target / nullif(measured, 0) AS within_target_percent, breached,
       reached_level_1, reached_level_2, reached_level_3,
       -- Nearest rank: the value at rank ceil(p * n / 100), in integers.
       minutes[(50 * len(minutes) + 99) // 100] AS median_first_response_minutes,
       minutes[(90 * len(minutes) + 99) // 100] AS p90_first_response_minutes,
       waiting_on_customer_minutes, mean_waiting_on_customer_minutes, at_risk
FROM figures ORDER BY is_total, grp;

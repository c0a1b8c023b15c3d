-- Validates 0003's constraints in a transaction of its own: VALIDATE CONSTRAINT scans the table
-- under SHARE UPDATE EXCLUSIVE, which lets writers go on (new rows were checked from 0003 on).
ALTER TABLE outbox VALIDATE CONSTRAINT outbox_message_count;
ALTER TABLE outbox VALIDATE CONSTRAINT outbox_one_form;

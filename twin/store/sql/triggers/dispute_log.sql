CREATE OR REPLACE TRIGGER dispute_log_append_only BEFORE DELETE OR UPDATE ON public.dispute_log FOR EACH ROW EXECUTE FUNCTION twin_append_only();

CREATE OR REPLACE TRIGGER agreement_signatures_append_only BEFORE DELETE OR UPDATE ON public.agreement_signatures FOR EACH ROW EXECUTE FUNCTION twin_append_only();

package webapi

import (
	"net/http"

	"junction/internal/records"
)

func (h *Handler) fetchXML(w http.ResponseWriter, rq *req, t *records.Table, fx string) {
	h.fail(w, rq, badRequest("FetchXML is not supported yet"))
}

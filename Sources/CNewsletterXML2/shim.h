#ifndef C_NEWSLETTER_XML2_SHIM_H
#define C_NEWSLETTER_XML2_SHIM_H

/* Debian builds libxml2 with ICU, whose headers clash with the ICU copy inside Foundation.
   Nothing here touches xmlCharEncodingHandler (the only struct ICU changes), and only through
   pointers, so its ICU fields can be hidden. */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <stdio.h>

/* Option sets as plain ints: the enums import awkwardly into Swift. */
static inline int nl_html_parse_options(void) {
    return HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET;
}

/* No entity expansion (XXE), no network, errors collected on the context. */
static inline int nl_xml_parse_options(void) {
    return XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
}

/* The first error of a parse, with its line: libxml2 keeps only the last one, which after a
   mismatched tag is usually a less helpful complaint about the end of the document. */
typedef struct {
    int set;
    int line;
    char message[512];
} nl_xml_first_error;

static void nl_xml_record_first_error(void *data, xmlErrorPtr error) {
    xmlParserCtxtPtr context = (xmlParserCtxtPtr)data;
    nl_xml_first_error *first = context ? (nl_xml_first_error *)context->_private : NULL;
    if (first == NULL || first->set || error == NULL || error->level < XML_ERR_ERROR) return;
    first->set = 1;
    first->line = error->line;
    snprintf(first->message, sizeof first->message, "%s", error->message ? error->message : "unknown error");
}

/* Call after xmlNewParserCtxt and before reading; the slot must outlive the parse. */
static inline void nl_xml_capture_first_error(xmlParserCtxtPtr context, nl_xml_first_error *slot) {
    context->_private = slot;
    context->userData = context;
    context->sax->serror = nl_xml_record_first_error;
}

/* xmlFree is a global function pointer, which Swift 6 treats as shared mutable state. */
static inline void nl_xml_free(void *pointer) {
    xmlFree(pointer);
}

#endif

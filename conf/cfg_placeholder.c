/* placeholder so the library is never empty */
int sfu_conf_placeholder_;

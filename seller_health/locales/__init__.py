"""Message catalogs (gettext ``.po``), one folder per language; read at run time."""

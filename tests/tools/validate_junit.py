"""Validates JUnit files against the Jenkins xunit schema (junit-10.xsd)
with DESIGN.md's one addition: optional `file` and `line` attributes on
`testcase`, which GitLab and the common CI reporters read.

    python3 tests/tools/validate_junit.py junit-10.xsd report.xml...

Exit status 0 when every file is valid; 1 with the first problem otherwise.
"""

import sys
import xml.etree.ElementTree as ET

import xmlschema

XS = "http://www.w3.org/2001/XMLSchema"


def schema_with_file_and_line(path):
    ET.register_namespace("xs", XS)
    tree = ET.parse(path)
    testcase = tree.getroot().find(f"{{{XS}}}element[@name='testcase']/{{{XS}}}complexType")
    if testcase is None:
        sys.exit(f"{path}: no testcase element: is it junit-10.xsd?")
    for name in ("file", "line"):
        ET.SubElement(testcase, f"{{{XS}}}attribute", {"name": name, "type": "xs:string"})
    return xmlschema.XMLSchema(ET.tostring(tree.getroot(), encoding="unicode"))


def main():
    schema = schema_with_file_and_line(sys.argv[1])
    for report in sys.argv[2:]:
        try:
            schema.validate(report)
        except xmlschema.XMLSchemaValidationError as error:
            print(f"{report}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

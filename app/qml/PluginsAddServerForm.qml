import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GlmChatCore

// Adds an MCP server (a program speaking MCP on stdin/stdout): name, command, arguments,
// environment (KEY=value lines) and working folder; ToolHost splits and stores them.
Rectangle {
    id: form
    required property var host
    property bool failed: false
    implicitHeight: grid.implicitHeight + 20
    radius: Theme.radius
    color: "transparent"
    border.color: Theme.border

    GridLayout {
        id: grid
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.top: parent.top
        anchors.margins: 10
        columns: 2
        columnSpacing: 12
        rowSpacing: 6

        Label { Layout.columnSpan: 2; text: qsTr("Add an MCP server"); font.bold: true; color: Theme.text }
        Label { text: qsTr("Name"); color: Theme.text }
        TextField { id: nameField; Layout.fillWidth: true; placeholderText: qsTr("e.g. weather") }
        Label { text: qsTr("Command"); color: Theme.text }
        TextField { id: commandField; Layout.fillWidth: true; placeholderText: qsTr("e.g. /usr/bin/python3") }
        Label { text: qsTr("Arguments"); color: Theme.text }
        TextField { id: argumentsField; Layout.fillWidth: true; placeholderText: qsTr("e.g. server.py --stdio") }
        Label { text: qsTr("Environment"); color: Theme.text; Layout.alignment: Qt.AlignTop }
        TextArea {
            id: environmentField
            Layout.fillWidth: true
            Layout.preferredHeight: 64
            placeholderText: qsTr("KEY=value, one per line")
            wrapMode: TextEdit.Wrap
        }
        Label { text: qsTr("Working folder"); color: Theme.text }
        TextField { id: folderField; Layout.fillWidth: true; placeholderText: qsTr("optional") }
        Label {
            visible: form.failed
            Layout.columnSpan: 2
            text: qsTr("The server could not be added: check the name (unique) and the command.")
            color: Theme.danger
            wrapMode: Text.Wrap
            Layout.fillWidth: true
        }
        AccentButton {
            Layout.columnSpan: 2
            Layout.alignment: Qt.AlignRight
            text: qsTr("Add server")
            enabled: nameField.text.trim().length > 0 && commandField.text.trim().length > 0
            onClicked: {
                const id = form.host.addMcpServerFromText(nameField.text.trim(), commandField.text.trim(), argumentsField.text,
                                                          environmentField.text, folderField.text.trim())
                form.failed = id <= 0
                if (!form.failed) {
                    nameField.clear(); commandField.clear(); argumentsField.clear(); environmentField.clear(); folderField.clear()
                }
            }
        }
    }
}

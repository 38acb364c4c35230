import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GlmChatCore

// Plugins: the built-in tools and the MCP servers, which of them this conversation offers the
// model, each tool's policy (ask, always allow, deny), adding and removing MCP servers.
Dialog {
    id: dialog
    readonly property var host: ChatController.toolHost
    title: qsTr("Plugins")
    modal: true
    width: 680
    height: Math.min(parent ? parent.height - 60 : 700, 700)
    background: Rectangle { color: Theme.background; radius: Theme.radius; border.color: Theme.border }
    footer: DialogButtonBox {
        background: null
        Button { text: qsTr("Close"); flat: true; DialogButtonBox.buttonRole: DialogButtonBox.RejectRole }
    }

    ScrollView {
        id: scroll
        anchors.fill: parent
        contentWidth: availableWidth
        clip: true

        ColumnLayout {
            width: scroll.availableWidth
            spacing: 12

            Label {
                Layout.fillWidth: true
                wrapMode: Text.Wrap
                color: Theme.mutedText
                text: dialog.host ? qsTr("The switches choose the plugins this conversation offers the model. Every call asks you first unless its tool is set to Always allow.")
                                  : qsTr("Plugins are unavailable: the conversation store could not be opened.")
            }
            RowLayout {
                visible: dialog.host !== null
                Layout.fillWidth: true
                Label { text: qsTr("Tool calls in a row (at most)"); color: Theme.text; Layout.fillWidth: true }
                SpinBox {
                    from: 1
                    to: 20
                    value: dialog.host ? dialog.host.maxToolRounds : 5
                    onValueModified: dialog.host.maxToolRounds = value
                }
            }
            Repeater {
                model: dialog.host ? dialog.host.plugins : []
                delegate: PluginsEntry {
                    required property var modelData
                    Layout.fillWidth: true
                    plugin: modelData
                    host: dialog.host
                }
            }
            PluginsAddServerForm {
                visible: dialog.host !== null
                Layout.fillWidth: true
                host: dialog.host
            }
        }
    }
}
